import type { OpsConfig } from '../../lib/ops-config';
import type { CoverSegment } from '../oncall/handoffs';
import { rotationOf } from '../oncall/oncall';

/**
 * A rotation as an iCalendar (RFC 5545) feed: one VEVENT per unbroken cover
 * (a shift, or an override's part of one), times in UTC, stable UIDs so a
 * calendar app updates events instead of duplicating them. Pure.
 */

/** The main rotation's name in URLs and messages. */
export const MAIN_ROTATION = 'main';

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 5545 §3.3.11 TEXT escaping. */
function text(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** RFC 5545 §3.1: lines of at most 75 octets, continued with CRLF and a space. */
function fold(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    // Never split a UTF-8 sequence: back off continuation bytes.
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
    limit = 74;
  }
  return parts.join('\r\n ');
}

export function renderIcalFeed(name: string, config: OpsConfig, segments: readonly CoverSegment[], generatedAt: Date): string {
  const zone = rotationOf(config, name === MAIN_ROTATION ? undefined : name).timezone;
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//MCP Financial Ops//On-call rotations//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${text(`On call: ${name}`)}`,
    `X-WR-TIMEZONE:${zone}`,
  ];
  for (const s of segments) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${name}-${s.from.getTime()}-${s.user}@mcp-financial-ops`,
      `DTSTAMP:${stamp(generatedAt)}`,
      `DTSTART:${stamp(s.from)}`,
      `DTEND:${stamp(s.to)}`,
      `SUMMARY:${text(`On call (${name}): ${s.user}`)}`,
      `DESCRIPTION:${text(`${s.user} is the on-call primary for the ${name} rotation${s.override ? ' (override)' : ''}.`)}`,
      'TRANSP:TRANSPARENT',
      ...(s.override ? ['CATEGORIES:override'] : []),
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return lines.map(fold).join('\r\n') + '\r\n';
}

import axios from 'axios';
import { z } from 'zod';
import { parseActionParams } from '../../lib/action-catalog';
import { code, escapeMrkdwn } from '../../lib/slack-text';
import { askedBy, type ActionHandler } from './types';

const SampleSchema = z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) });
const QueryAnswerSchema = z.object({
  status: z.enum(['success', 'error']),
  data: z
    .discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(SampleSchema) }),
      z.object({ resultType: z.literal('scalar'), result: z.tuple([z.number(), z.string()]) }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })) }),
      z.object({ resultType: z.literal('string'), result: z.tuple([z.number(), z.string()]) }),
    ])
    .optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
});

/** Rows shown in the thread; the rest is counted, not listed. */
const MAX_ROWS = 15;

/** Code-block safe: a label value cannot end the block early. */
const inert = (s: string) => s.replace(/`/g, 'ˋ');

function formatValue(raw: string): string {
  const n = Number(raw);
  if (!Number.isFinite(n)) return raw;
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toPrecision(4);
}

function seriesName(metric: Record<string, string>): string {
  const { __name__: name, ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return `${name ?? ''}${inner ? `{${inner}}` : name ? '' : '{}'}`;
}

/** Renders an instant query's answer as an aligned two-column table. */
export function renderTable(rows: Array<[string, string]>): string {
  const shown = rows.slice(0, MAX_ROWS);
  const width = Math.min(80, Math.max(6, ...shown.map(([s]) => s.length)));
  const lines = shown.map(([s, v]) => `${inert(s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width))}  ${v}`);
  if (rows.length > shown.length) lines.push(`… and ${rows.length - shown.length} more series`);
  return lines.join('\n');
}

/** `query_prometheus`: the runbook's PromQL (or a person's) against PROMETHEUS_URL, answered as a short table. */
export const runQueryPrometheus: ActionHandler = async (job, deps) => {
  const { query } = parseActionParams('query_prometheus', job.params);
  if (!deps.prometheusUrl) {
    // A runbook's PromQL diagnostics without a Prometheus are not failures (nothing is down): the thread says so
    // once per incident, however many queries the runbook has. A person who asked for a query is told plainly.
    if (job.origin === 'diagnostics' && job.incidentId) {
      deps.logger.info({ incidentId: job.incidentId, requestId: job.requestId }, 'PromQL diagnostic skipped: PROMETHEUS_URL is not set for the workers');
      return {
        ok: true,
        skipped: true,
        replyId: `diag-${job.incidentId}-no-prometheus`,
        summary: `ℹ️ The runbook's PromQL diagnostics for ${job.incidentId} are skipped: Prometheus is not configured for the workers (PROMETHEUS_URL is not set).`,
        audit: { skipped: 'PROMETHEUS_URL not set' },
      };
    }
    return { ok: false, summary: '❌ query_prometheus needs PROMETHEUS_URL; the workers have none configured.' };
  }
  const res = await axios.get(`${deps.prometheusUrl.replace(/\/$/, '')}/api/v1/query`, {
    params: { query },
    timeout: 10_000,
    validateStatus: () => true,
    signal: deps.signal,
  });
  const answer = QueryAnswerSchema.safeParse(res.data);
  if (!answer.success) return { ok: false, summary: `❌ Prometheus answered HTTP ${res.status} with something that is not a query result.` };
  if (answer.data.status === 'error' || !answer.data.data) {
    return { ok: false, summary: `❌ Prometheus refused the query: ${escapeMrkdwn(answer.data.error ?? `HTTP ${res.status}`)}`, audit: { error: answer.data.error } };
  }
  const data = answer.data.data;
  let rows: Array<[string, string]>;
  if (data.resultType === 'vector') rows = data.result.map((s) => [seriesName(s.metric), formatValue(s.value[1])]);
  else if (data.resultType === 'matrix') rows = data.result.map((s) => [seriesName(s.metric), formatValue(s.values.at(-1)?.[1] ?? 'NaN')]);
  else rows = [['scalar', formatValue(data.result[1])]];
  const head = `📈 ${code(query.length > 200 ? `${query.slice(0, 199)}…` : query)}${job.incidentId ? ` for ${job.incidentId}` : ''}, asked by ${askedBy(job)}`;
  if (rows.length === 0) return { ok: true, summary: `${head}: no series (the condition does not hold now)`, audit: { series: 0 } };
  return { ok: true, summary: `${head}: ${rows.length} series`, detail: renderTable(rows), audit: { series: rows.length } };
};

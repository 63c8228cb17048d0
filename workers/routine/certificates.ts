import { escapeMrkdwn } from '../../lib/slack-text';
import { autoTick } from './checklist-ticks';
import { context, formatWhen, header, postReport, section, type RoutineContext } from './context';
import { checkCertificate, warningThreshold, type CertificateStatus } from './tls-check';

/**
 * The guide's "Check certificate expiration dates": every configured TLS
 * endpoint gets a real handshake; a certificate inside a warning threshold
 * (30, 14, 7 days by default) is warned about once per threshold (and per
 * certificate: a renewed one starts again), an expired one or a failed
 * handshake every run.
 */
const WARNED_TTL_S = 400 * 86_400;

async function checkAll(ctx: RoutineContext): Promise<CertificateStatus[]> {
  return Promise.all(ctx.config.routine.tls_endpoints.map((e) => checkCertificate(e, { now: ctx.now() })));
}

function describe(ctx: RoutineContext, s: CertificateStatus): string {
  const where = `*${escapeMrkdwn(s.endpoint.name)}* (${escapeMrkdwn(`${s.endpoint.host}:${s.endpoint.port}`)})`;
  if (!s.ok) return `❌ ${where}: handshake failed: ${escapeMrkdwn(s.error ?? 'unknown error')}`;
  const days = s.daysLeft!;
  const threshold = warningThreshold(days, ctx.config.routine.certificate_warn_days);
  const icon = threshold === undefined ? '✅' : threshold === 0 ? '❌' : '⚠️';
  const left = days <= 0 ? `expired ${Math.ceil(-days)} day(s) ago` : `expires in ${Math.floor(days)} day(s)`;
  const trust = s.authorized ? '' : ` · not trusted: ${escapeMrkdwn(s.authorizationError ?? 'unknown')}`;
  return `${icon} ${where}: ${left}, ${formatWhen(ctx, new Date(s.validTo!))} (CN ${escapeMrkdwn(s.subject ?? '?')})${trust}`;
}

/** One line per endpoint, for the morning report. */
export async function certificateLines(ctx: RoutineContext): Promise<string[]> {
  if (ctx.config.routine.tls_endpoints.length === 0) return ['No TLS endpoints configured (routine.tls_endpoints).'];
  return (await checkAll(ctx)).map((s) => describe(ctx, s));
}

/** Claims the warning for this certificate and threshold; true the first time. */
async function firstWarning(ctx: RoutineContext, s: CertificateStatus, threshold: number): Promise<boolean> {
  if (threshold === 0) return true;
  const key = `${ctx.prefix}:routine:cert-warned:${s.endpoint.name}:${s.fingerprint256 ?? s.validTo}:${threshold}`;
  return (await ctx.redis.set(key, '1', 'EX', WARNED_TTL_S, 'NX')) === 'OK';
}

/**
 * The scheduled check: a message only when something needs a person (a new
 * threshold crossed, expired, unreachable); on demand (`/ops report
 * certificates`) always the full list. Returns how many warnings it posted.
 */
export async function certificatesJob(ctx: RoutineContext, onDemand: boolean): Promise<string> {
  const statuses = await checkAll(ctx);
  const warnings: string[] = [];
  for (const s of statuses) {
    if (!s.ok) {
      warnings.push(describe(ctx, s));
      continue;
    }
    const threshold = warningThreshold(s.daysLeft!, ctx.config.routine.certificate_warn_days);
    if (threshold !== undefined && (await firstWarning(ctx, s, threshold))) {
      warnings.push(`${describe(ctx, s)}${threshold > 0 ? ` · inside the ${threshold}-day warning` : ''}`);
    }
  }
  const allGood = statuses.length > 0 && statuses.every((s) => s.ok && warningThreshold(s.daysLeft!, ctx.config.routine.certificate_warn_days) === undefined);
  if (allGood) await autoTick(ctx, 'certificates', `${statuses.length} endpoint(s), none within ${Math.max(...ctx.config.routine.certificate_warn_days)} days`);
  if (warnings.length > 0) {
    const title = `🔐 Certificate warning${warnings.length > 1 ? 's' : ''}`;
    await postReport(ctx, `${title}: ${warnings.length}`, [header(title), section(warnings.join('\n')), context(`TLS handshake with each of routine.tls_endpoints · ${formatWhen(ctx, ctx.now())}`)]);
  } else if (onDemand) {
    const lines = statuses.length ? statuses.map((s) => describe(ctx, s)) : ['No TLS endpoints configured (routine.tls_endpoints).'];
    await postReport(ctx, '🔐 Certificates', [header('🔐 Certificates'), section(lines.join('\n')), context(formatWhen(ctx, ctx.now()))]);
  }
  return `${warnings.length} warning(s)`;
}

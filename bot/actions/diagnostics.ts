import type { ActionName } from '../../lib/action-catalog';
import type { Logger } from '../../lib/logger';
import type { Runbook, RunbookDiagnostic } from '../../lib/runbook';
import type { Incident } from '../incidents/incident-store';
import type { ActionService } from './action-service';
import type { OpeningContext } from '../alerts/incident-opener';

export interface DiagnosticsOptions {
  runbooks: ReadonlyMap<string, Runbook>;
  service: ActionService;
  channelOf(incident: Incident): Promise<string>;
  logger: Logger;
}

/** The actor of diagnostics in jobs and the audit. */
export const DIAGNOSTICS_ACTOR = 'system:diagnostics';

/** A runbook diagnostic as a catalog action, or undefined for one no worker runs. */
export function diagnosticJob(d: RunbookDiagnostic): { action: ActionName; params: Record<string, unknown> } | undefined {
  if (d.promql) return { action: 'query_prometheus', params: { query: d.promql } };
  switch (d.action) {
    case 'health_check':
      return { action: 'health_check', params: { mode: 'full' } };
    case 'security_report':
      return { action: 'security_report', params: {} };
    case 'list_blocked_ips':
      return { action: 'list_blocked_ips', params: {} };
    case 'collect_evidence':
      return { action: 'collect_evidence', params: {} };
    default:
      return undefined;
  }
}

/**
 * Runs the runbook's diagnostics when an incident opens: one job each, in the
 * runbook's order, as `system:diagnostics`, so their results are the first
 * replies in the thread. Request ids are `diag-<INC>-<n>`: a redelivered
 * webhook or a second replica enqueues nothing twice.
 */
export function createDiagnostics(options: DiagnosticsOptions) {
  const { runbooks, service, logger } = options;

  /** `opening` (from the incident opener): the incident as the opening read it, and its root's place in the outbox. */
  async function opened(incidentId: string, opening: OpeningContext): Promise<void> {
    const { incident } = opening;
    const runbook = runbooks.get(incident.labels.alertname ?? '');
    const diagnostics: RunbookDiagnostic[] = runbook?.diagnostics ?? [{ name: 'health_check', description: 'health check', action: 'health_check' }];
    const channel = await options.channelOf(incident);
    // The root goes into the outbox lane first, so the results land in its thread, after it.
    await opening.rootQueued;
    for (const [n, d] of diagnostics.entries()) {
      const job = diagnosticJob(d);
      if (!job) {
        logger.info({ incidentId, diagnostic: d.name }, 'diagnostic has no runbook action; skipped');
        continue;
      }
      await service.system({
        requestId: `diag-${incidentId}-${n}`,
        ...job,
        incidentId,
        requestedBy: DIAGNOSTICS_ACTOR,
        channelId: channel,
        reply: { channel },
        origin: 'diagnostics',
      });
    }
  }

  return { opened };
}

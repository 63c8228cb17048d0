import { parseActionParams, type ActionName } from '../../lib/action-catalog';
import type { OpsConfig } from '../../lib/ops-config';
import type { Runbook, RunbookAction } from '../../lib/runbook';
import type { Incident } from '../incidents/incident-store';
import type { Element } from '../incidents/incident-message';
import { ACTION_USAGE } from './action-args';

/** Action id prefix of the runbook buttons in an incident's root message (the health check keeps its old id). */
export const RUNBOOK_BUTTON_PREFIX = 'runbook_';

const BREAKER_SERVICES = ['account-service', 'transaction-service'] as const;

/**
 * One button the incident's runbook offers. Either it runs (`params` fixed
 * here, from the runbook, the incident's labels and the ops config), or it
 * only shows the `/ops run` usage line, because a person must give arguments
 * (an address, a duration, a backup).
 */
export interface RunbookButton {
  actionId: string;
  label: string;
  /** The runbook's word (maintenance_on) and the catalog action it runs (maintenance). */
  offered: RunbookAction;
  action: ActionName;
  params?: Record<string, unknown>;
  usage?: string;
  style?: 'danger';
  /** The runbook's `guarded`: confirm before it runs. */
  guarded?: boolean;
}

function catalogAction(offered: RunbookAction): ActionName {
  return offered === 'maintenance_on' || offered === 'maintenance_off' ? 'maintenance' : offered;
}

/** The services a lifecycle action may target here: the alert's `service` label if configured, else the only configured one. */
function lifecycleServices(incident: Incident, config: OpsConfig): string[] {
  const names = Object.keys(config.platform.services);
  const label = incident.labels.service;
  if (label && names.includes(label)) return [label];
  return names.length === 1 ? names : [];
}

function breakerServices(incident: Incident): string[] {
  const label = incident.labels.service;
  return label && (BREAKER_SERVICES as readonly string[]).includes(label) ? [label] : [...BREAKER_SERVICES];
}

/** The buttons for `incident` from its runbook (none without one). Health check is in the main row already. */
export function runbookButtons(incident: Incident, runbook: Runbook | undefined, config: OpsConfig): RunbookButton[] {
  if (!runbook) return [];
  const out: RunbookButton[] = [];
  for (const offer of runbook.actions) {
    if (offer.action === 'health_check') continue;
    const action = catalogAction(offer.action);
    const base = { offered: offer.action, action, guarded: offer.guarded, ...(offer.guarded ? { style: 'danger' as const } : {}) };
    const variants = (params: Array<Record<string, unknown>>, label: (p: Record<string, unknown>) => string) => {
      params.forEach((p, i) => {
        out.push({ ...base, actionId: `${RUNBOOK_BUTTON_PREFIX}${offer.action}${i ? `_${i}` : ''}`, label: label(p), params: parseActionParams(action, p) as Record<string, unknown> });
      });
    };
    const usage = () => out.push({ ...base, actionId: `${RUNBOOK_BUTTON_PREFIX}${offer.action}`, label: `${offer.label}…`, usage: ACTION_USAGE[action] });
    switch (offer.action) {
      case 'restart':
      case 'rollback': {
        const services = lifecycleServices(incident, config);
        if (services.length) variants(services.map((service) => ({ service })), (p) => `${offer.label}: ${String(p.service)}`);
        else usage();
        break;
      }
      case 'reset_circuit_breaker':
        variants(breakerServices(incident).map((service) => ({ service })), (p) => `${offer.label}: ${String(p.service)}`);
        break;
      case 'maintenance_off':
        variants([{ mode: 'off' }], () => offer.label);
        break;
      case 'collect_evidence':
        variants([{}], () => offer.label);
        break;
      default:
        usage();
    }
  }
  return out.map((b) => ({ ...b, label: b.label.slice(0, 75) }));
}

/** The Slack buttons for `buttons`; each value is the incident id only (params are looked up again on click). */
export function runbookButtonElements(incident: Incident, buttons: readonly RunbookButton[]): Element[] {
  return buttons.map((b) => ({
    type: 'button' as const,
    action_id: b.actionId,
    text: { type: 'plain_text' as const, text: b.label, emoji: true },
    value: incident.id,
    ...(b.style && !b.usage ? { style: b.style } : {}),
  }));
}

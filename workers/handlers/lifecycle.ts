import { parseActionParams } from '../../lib/action-catalog';
import type { DriverCallContext, DriverResult } from '../drivers/types';
import { askedBy, type ActionHandler, type HandlerDeps } from './types';

/**
 * restart, deploy, rollback, scale: through the platform driver the ops config
 * chooses. The driver is idempotent per requestId (a replay after a crash waits
 * for the first call's outcome instead of acting again).
 */
function outcome(result: DriverResult, what: string, who: string): { ok: boolean; summary: string; detail?: string; audit: Record<string, unknown> } {
  const icon = result.ok ? '✅' : '❌';
  return {
    ok: result.ok,
    summary: `${icon} ${what}: ${result.summary} (asked by ${who})`,
    ...(result.detail ? { detail: result.detail } : {}),
    audit: { version: result.version, driverSummary: result.summary },
  };
}

const ctxOf = (job: { requestId: string; requestedBy: string }, deps: HandlerDeps): DriverCallContext => ({
  requestId: job.requestId,
  requestedBy: job.requestedBy,
  ...(deps.signal ? { signal: deps.signal } : {}),
});

const NO_DRIVER = { ok: false, summary: '❌ No platform driver is configured for the workers (ops config `platform`).' };

export const runRestart: ActionHandler = async (job, deps) => {
  const { service } = parseActionParams('restart', job.params);
  const driver = deps.driver;
  if (!driver) return NO_DRIVER;
  return outcome(await driver.restart(service, ctxOf(job, deps)), `Restart of ${service} (${driver.kind})`, askedBy(job));
};

export const runDeploy: ActionHandler = async (job, deps) => {
  const { service, version } = parseActionParams('deploy', job.params);
  const driver = deps.driver;
  if (!driver) return NO_DRIVER;
  return outcome(await driver.deploy(service, version, ctxOf(job, deps)), `Deploy of ${service} ${version} (${driver.kind})`, askedBy(job));
};

export const runRollback: ActionHandler = async (job, deps) => {
  const { service } = parseActionParams('rollback', job.params);
  const driver = deps.driver;
  if (!driver) return NO_DRIVER;
  return outcome(await driver.rollback(service, ctxOf(job, deps)), `Rollback of ${service} (${driver.kind})`, askedBy(job));
};

export const runScale: ActionHandler = async (job, deps) => {
  const { service, replicas } = parseActionParams('scale', job.params);
  const driver = deps.driver;
  if (!driver) return NO_DRIVER;
  return outcome(await driver.scale(service, replicas, ctxOf(job, deps)), `Scale of ${service} to ${replicas} (${driver.kind})`, askedBy(job));
};

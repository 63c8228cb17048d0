import type { Queue } from 'bullmq';
import { ACTION_POLICIES, APPROVAL_TTL_MS, type ActionName } from '../../lib/action-catalog';
import type { AuditEvent, AuditLog } from '../../lib/audit-log';
import { RunbookActionJobSchema, type RunbookActionJob } from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { SlackIdentity } from '../../lib/ops-config-rbac';
import type { AccessControl } from '../access/access-control';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import type { BotMetrics } from '../metrics';
import { ago, approvalBlocks, confirmBlocks, describeAction } from './action-messages';
import type { ActionRequest, ActionRequestStore, RequestState } from './action-requests';

/** What the person who clicked or typed sees (ephemeral). */
export interface ActionAnswer {
  ok: boolean;
  text: string;
  blocks?: Array<Record<string, unknown>>;
  requestId?: string;
}

export interface ActionRequestInput {
  action: ActionName;
  /** Parsed against the catalog already (action-args.ts or the runbook buttons). */
  params: Record<string, unknown>;
  incidentId?: string;
  userId: string;
  identity?: SlackIdentity;
  channelId: string;
  origin: 'button' | 'command';
  /** The runbook marks this button guarded: confirm it even if the catalog does not call the action dangerous. */
  guarded?: boolean;
  /** Derived from the Slack payload: a retried delivery carries the same one. */
  requestId: string;
}

/** Thread and channel posts of the flow; every one goes through the Slack outbox. */
export interface ActionPoster {
  post(input: { incidentId?: string; channel: string; threadTs?: string; text: string; blocks?: Array<Record<string, unknown>>; id: string }): Promise<void>;
}

export interface ActionServiceOptions {
  access: AccessControl;
  requests: ActionRequestStore;
  store: IncidentStore;
  queue: Pick<Queue<RunbookActionJob>, 'add'>;
  audit: AuditLog;
  poster: ActionPoster;
  /** The channel id an incident's thread lives in (its stored channel, else its route's). */
  channelOf(incident: Incident): Promise<string>;
  metrics: BotMetrics;
  logger: Logger;
  now?: () => Date;
  /** How long a target lock lives if the worker never releases it. @defaultValue 15 min */
  lockTtlMs?: number;
  /** How long a dangerous request waits for its Confirm click. @defaultValue APPROVAL_TTL_MS */
  confirmTtlMs?: number;
  /** Identical requests within this window are one. @defaultValue 10 s */
  dedupeWindowMs?: number;
}

/**
 * From a request to an enqueued job: RBAC (role, channel), the target lock,
 * one request per double click, confirmation of dangerous actions by the
 * requester, a second person's approval during an open P1, and an audit entry
 * for every step and every refusal. Knows no Bolt: the listeners in
 * runbook-actions.ts parse and hand over.
 */
export function createActionService(options: ActionServiceOptions) {
  const { access, requests, store, audit, logger } = options;
  const now = options.now ?? (() => new Date());
  const lockTtlMs = options.lockTtlMs ?? 15 * 60_000;

  const record = (event: AuditEvent) => audit.append(event);

  async function refuse(base: Omit<AuditEvent, 'kind' | 'outcome' | 'message'>, message: string, detail?: Record<string, unknown>): Promise<ActionAnswer> {
    await record({ ...base, kind: 'refusal', outcome: 'refused', message: message.slice(0, 4000), ...(detail ? { detail } : {}) });
    return { ok: false, text: message };
  }

  const auditBase = (r: Pick<ActionRequest, 'action' | 'incidentId' | 'requestId' | 'target'>, actor: string) => ({
    actor,
    action: r.action,
    requestId: r.requestId,
    ...(r.incidentId ? { incidentId: r.incidentId } : {}),
    ...(r.target ? { target: r.target } : {}),
  });

  async function busy(target: string, requestId: string): Promise<string | undefined> {
    const holder = await requests.lockHolder(target);
    if (!holder || holder.requestId === requestId) return undefined;
    const h = holder.request;
    if (!h) return `${target} is locked by request \`${holder.requestId}\`; try again when it is done.`;
    return `${describeAction(h.action, h.params)} is already running (asked by <@${h.requestedBy}> ${ago(h.queuedAt ?? h.createdAt, now())}); try again when it is done.`;
  }

  async function openP1(): Promise<Incident | undefined> {
    for (const id of await store.openIds()) {
      const incident = await store.get(id);
      if (incident && incident.priority === 'P1' && incident.state !== 'resolved') return incident;
    }
    return undefined;
  }

  /** A person asks for an action. Dangerous ones come back as a Confirm prompt; the rest are enqueued. */
  async function request(input: ActionRequestInput): Promise<ActionAnswer> {
    const policy = ACTION_POLICIES[input.action];
    const dangerous = policy.dangerous || input.guarded === true;
    const target = policy.target(input.params);
    const base = { actor: input.userId, action: input.action, requestId: input.requestId, ...(input.incidentId ? { incidentId: input.incidentId } : {}), ...(target ? { target } : {}) };
    const detail = { params: input.params, channel: input.channelId, origin: input.origin };
    const who = input.identity ?? (await access.identify(input.userId));
    const verdict = await access.action(who, input.action, input.channelId);
    if (!verdict.ok) return refuse(base, verdict.message, detail);

    let reply: ActionRequest['reply'] = { channel: input.channelId };
    if (input.incidentId) {
      const incident = await store.get(input.incidentId);
      if (!incident) return refuse(base, `⚠️ ${input.incidentId} does not exist.`, detail);
      reply = { channel: await options.channelOf(incident), ...(incident.rootTs ? { threadTs: incident.rootTs } : {}) };
    }
    if (target) {
      const conflict = await busy(target, input.requestId);
      if (conflict) return refuse(base, `⏳ ${conflict}`, detail);
    }
    const owner = await requests.claim(
      { user: input.userId, action: input.action, params: input.params, incident: input.incidentId ?? '', channel: input.channelId },
      input.requestId,
      options.dedupeWindowMs ?? 10_000,
    );
    if (owner !== input.requestId) {
      return refuse(base, `You asked for the same ${describeAction(input.action, input.params)} a moment ago (request \`${owner}\`); it runs once.`, { ...detail, duplicateOf: owner });
    }
    const at = now();
    const { created, request: stored } = await requests.create({
      requestId: input.requestId,
      action: input.action,
      params: input.params,
      ...(target ? { target } : {}),
      ...(input.incidentId ? { incidentId: input.incidentId } : {}),
      requestedBy: input.userId,
      channelId: input.channelId,
      reply,
      origin: input.origin,
      state: dangerous ? 'awaiting_confirmation' : 'queued',
      createdAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + (options.confirmTtlMs ?? APPROVAL_TTL_MS)).toISOString(),
    });
    const what = describeAction(stored.action, stored.params);
    const where = stored.incidentId ? ` for ${stored.incidentId}` : '';
    if (!created && stored.state === 'queued' && !stored.queuedAt) return enqueue(stored); // an earlier attempt stopped before the queue
    if (!created && stored.state !== 'awaiting_confirmation') return { ok: true, text: `That request is ${stored.state.replace(/_/g, ' ')} (request \`${stored.requestId}\`).`, requestId: stored.requestId };
    if (created) await record({ ...base, kind: 'request', outcome: dangerous ? 'pending' : 'ok', message: `asked for the ${what}${where}`, detail });
    if (dangerous) {
      return { ok: true, requestId: stored.requestId, text: `⚠️ ${what}${where}: confirm to run it.`, blocks: confirmBlocks(stored.requestId, what, where) };
    }
    return enqueue(stored);
  }

  /** Loads a request named by a button and checks it belongs to this person and place. */
  async function load(requestId: string, userId: string, kind: 'confirm' | 'approve' | 'cancel', channelId: string): Promise<ActionRequest | ActionAnswer> {
    const r = await requests.get(requestId);
    const base = { actor: userId, requestId: requestId.slice(0, 200) };
    if (!r) return refuse(base, '⚠️ That button names no request the bot knows (expired, or not from here). Nothing ran.', { kind });
    if (kind !== 'approve' && r.requestedBy !== userId) {
      return refuse(auditBase(r, userId), `⛔ Only <@${r.requestedBy}>, who asked for it, can ${kind} this request.`, { kind });
    }
    const expectedChannel = kind === 'approve' ? r.reply.channel : r.channelId;
    if (channelId !== expectedChannel) return refuse(auditBase(r, userId), '⛔ That button belongs to a request made elsewhere. Nothing ran.', { kind, channel: channelId });
    return r;
  }

  async function stale(r: ActionRequest, userId: string, from: RequestState, kind: string): Promise<ActionAnswer | undefined> {
    if (r.state === from) return undefined;
    // Confirmed or approved, but the attempt stopped before the queue (a crash, a lost Redis reply): finish it.
    if (r.state === 'queued' && !r.queuedAt) return enqueue(r);
    return refuse(auditBase(r, userId), `That request is already ${r.state.replace(/_/g, ' ')}; nothing more to ${kind}.`, { kind, state: r.state });
  }

  async function expired(r: ActionRequest, userId: string, from: RequestState, what: string): Promise<ActionAnswer | undefined> {
    if (now().getTime() <= Date.parse(r.expiresAt)) return undefined;
    await requests.transition(r.requestId, [from], { state: 'expired' });
    return refuse(auditBase(r, userId), `⌛ The ${what} window of this request ended ${ago(r.expiresAt, now())} (${Math.round(APPROVAL_TTL_MS / 60_000)} min); nothing ran. Ask again.`, { expiresAt: r.expiresAt });
  }

  /** The requester clicked Confirm. Needs approval during an open P1, else it is enqueued. */
  async function confirm(requestId: string, userId: string, channelId: string): Promise<ActionAnswer> {
    const r = await load(requestId, userId, 'confirm', channelId);
    if ('ok' in r) return r;
    const refusal = (await stale(r, userId, 'awaiting_confirmation', 'confirm')) ?? (await expired(r, userId, 'awaiting_confirmation', 'confirmation'));
    if (refusal) return refusal;
    const verdict = await access.action(await access.identify(userId), r.action, r.channelId);
    if (!verdict.ok) return refuse(auditBase(r, userId), verdict.message);
    const what = describeAction(r.action, r.params);
    const p1 = ACTION_POLICIES[r.action].approvalDuringP1 ? await openP1() : undefined;
    if (p1) {
      const expiresAt = new Date(now().getTime() + APPROVAL_TTL_MS).toISOString();
      const moved = await requests.transition(r.requestId, ['awaiting_confirmation'], { state: 'awaiting_approval', expiresAt });
      if (!moved.ok) return { ok: false, text: `That request is already ${moved.state.replace(/_/g, ' ')}.` };
      await record({ ...auditBase(r, userId), kind: 'confirmation', outcome: 'pending', message: `confirmed the ${what}; needs approval during ${p1.id} (P1)` });
      const text =
        `✋ <@${r.requestedBy}> asks for the *${what}*${r.incidentId ? ` for ${r.incidentId}` : ''} while ${p1.id} (P1) is open. ` +
        `A responder or admin other than them must approve within ${Math.round(APPROVAL_TTL_MS / 60_000)} minutes (request \`${r.requestId}\`).`;
      await options.poster.post({ incidentId: r.incidentId, channel: r.reply.channel, threadTs: r.reply.threadTs, text, blocks: approvalBlocks(r.requestId, text), id: `${r.requestId}.approval` });
      await record({ ...auditBase(r, userId), kind: 'approval_requested', outcome: 'pending', message: `approval asked in ${r.reply.channel}`, detail: { expiresAt, p1: p1.id } });
      return { ok: true, requestId: r.requestId, text: `✋ Confirmed. During ${p1.id} (P1) the ${what} also needs a second person's approval: asked in the thread; it expires in ${Math.round(APPROVAL_TTL_MS / 60_000)} minutes.` };
    }
    const moved = await requests.transition(r.requestId, ['awaiting_confirmation'], { state: 'queued' });
    if (!moved.ok) return { ok: false, text: `That request is already ${moved.state.replace(/_/g, ' ')}.` };
    await record({ ...auditBase(r, userId), kind: 'confirmation', outcome: 'ok', message: `confirmed the ${what}` });
    return enqueue(r);
  }

  /** A second person clicked Approve. */
  async function approve(requestId: string, userId: string, channelId: string): Promise<ActionAnswer> {
    const r = await load(requestId, userId, 'approve', channelId);
    if ('ok' in r) return r;
    if (r.state === 'awaiting_confirmation') return refuse(auditBase(r, userId), `<@${r.requestedBy}> has not confirmed this request yet; there is nothing to approve.`);
    const refusal = await stale(r, userId, 'awaiting_approval', 'approve');
    if (refusal) return refusal;
    if (userId === r.requestedBy) return refuse(auditBase(r, userId), '⛔ You asked for it: the approval must come from a second person (a responder or admin).');
    const verdict = await access.action(await access.identify(userId), r.action, r.channelId);
    if (!verdict.ok) return refuse(auditBase(r, userId), `${verdict.message} Approving needs the same rights as running it.`);
    const late = await expired(r, userId, 'awaiting_approval', 'approval');
    if (late) return late;
    const moved = await requests.transition(r.requestId, ['awaiting_approval'], { state: 'queued', approvedBy: userId });
    if (!moved.ok) return { ok: false, text: `That request is already ${moved.state.replace(/_/g, ' ')}.` };
    await record({ ...auditBase(r, userId), kind: 'approval', outcome: 'ok', message: `approved the ${describeAction(r.action, r.params)} asked by ${r.requestedBy}` });
    return enqueue({ ...r, approvedBy: userId });
  }

  /** The requester clicked Cancel. */
  async function cancel(requestId: string, userId: string, channelId: string): Promise<ActionAnswer> {
    const r = await load(requestId, userId, 'cancel', channelId);
    if ('ok' in r) return r;
    const moved = await requests.transition(r.requestId, ['awaiting_confirmation', 'awaiting_approval'], { state: 'cancelled' });
    if (!moved.ok) return { ok: false, text: `That request is already ${moved.state.replace(/_/g, ' ')}.` };
    await record({ ...auditBase(r, userId), kind: 'refusal', outcome: 'refused', message: 'cancelled by the requester' });
    return { ok: true, text: `Cancelled: the ${describeAction(r.action, r.params)} will not run.` };
  }

  /** Takes the target lock and enqueues the job (job id = request id). */
  async function enqueue(r: ActionRequest, quiet = false): Promise<ActionAnswer> {
    const what = describeAction(r.action, r.params);
    if (r.target && !(await requests.lock(r.target, r.requestId, lockTtlMs))) {
      const conflict = (await busy(r.target, r.requestId)) ?? `${r.target} is busy`;
      await requests.transition(r.requestId, ['queued'], { state: 'refused' });
      return refuse(auditBase(r, r.approvedBy ?? r.requestedBy), `⏳ ${conflict}`);
    }
    const job = RunbookActionJobSchema.parse({
      action: r.action,
      requestId: r.requestId,
      ...(r.incidentId ? { incidentId: r.incidentId } : {}),
      requestedBy: r.requestedBy,
      ...(r.approvedBy ? { approvedBy: r.approvedBy } : {}),
      reply: r.reply,
      params: r.params,
      requestedAt: r.createdAt,
      origin: r.origin,
      ...(r.target ? { lock: { key: requests.keys.lock(r.target), token: r.requestId } } : {}),
    });
    if (!quiet) {
      // Before the job: the worker's result must come after this note in the thread.
      const note = `⏳ <@${r.requestedBy}> asked for the ${what}${r.approvedBy ? `, approved by <@${r.approvedBy}>` : ''} (request \`${r.requestId}\`).`;
      await options.poster.post({ incidentId: r.incidentId, channel: r.reply.channel, threadTs: r.reply.threadTs, text: note, id: `${r.requestId}.queued` });
    }
    try {
      await options.queue.add(r.action, job, { jobId: r.requestId });
    } catch (err) {
      // Nothing runs, so nothing may stay locked or look queued; the person sees the error and may ask again.
      if (r.target) await requests.unlock(r.target, r.requestId);
      await requests.transition(r.requestId, ['queued'], { state: 'refused', queuedAt: undefined });
      throw err;
    }
    await requests.transition(r.requestId, ['queued'], { queuedAt: now().toISOString() });
    options.metrics.actionsRequested.inc({ action: r.action });
    if (r.incidentId) await store.appendTimeline(r.incidentId, { type: 'action_requested', action: r.action, by: r.requestedBy, jobId: r.requestId });
    logger.info({ requestId: r.requestId, action: r.action, incidentId: r.incidentId }, 'runbook action enqueued');
    return { ok: true, requestId: r.requestId, text: `⏳ The ${what}${r.incidentId ? ` for ${r.incidentId}` : ''} is queued (request \`${r.requestId}\`); the result is posted ${r.reply.threadTs ? 'in the thread' : 'in this channel'}.` };
  }

  /** A system request (diagnostics at open): no RBAC, no confirmation; audited as the system. */
  async function system(input: Omit<ActionRequest, 'state' | 'createdAt' | 'expiresAt'>): Promise<boolean> {
    const at = now();
    const target = ACTION_POLICIES[input.action].target(input.params);
    const { created, request: stored } = await requests.create({
      ...input,
      ...(target ? { target } : {}),
      state: 'queued',
      createdAt: at.toISOString(),
      expiresAt: at.toISOString(),
    });
    if (!created) return false;
    await record({ ...auditBase(stored, input.requestedBy), kind: 'request', outcome: 'ok', message: `${input.origin}: ${describeAction(stored.action, stored.params)}`, detail: { params: stored.params, origin: input.origin } });
    const answer = await enqueue(stored, true);
    return answer.ok;
  }

  return { request, confirm, approve, cancel, system };
}

export type ActionService = ReturnType<typeof createActionService>;

import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../../lib/logger';
import { type ApiArgs, type ApiMethod, SlackApiFailure } from './methods/api-context';
import { authMethods } from './methods/auth';
import { chatMethods } from './methods/chat';
import { conversationMethods } from './methods/conversations';
import { reactionMethods } from './methods/reactions';
import { userMethods } from './methods/users';
import { usergroupMethods } from './methods/usergroups';
import type { AnswerFaults } from './answer-faults';
import type { CallFaults } from './call-faults';
import type { RateLimiter } from './rate-limits';
import type { SlackState } from './state';
import type { Stats } from './stats';

export const API_METHODS: Record<string, ApiMethod> = {
  ...authMethods,
  ...chatMethods,
  ...conversationMethods,
  ...userMethods,
  ...reactionMethods,
  ...usergroupMethods,
};

export interface WebApiDeps {
  state: SlackState;
  stats: Stats;
  limiter: RateLimiter;
  botToken: string;
  baseUrl: () => string;
  logger: Logger;
  /** Armed faults: a call performed whose answer never comes. */
  faults?: CallFaults;
  /** Armed answer faults: a call refused with 429/500/503 and not performed. */
  answers?: AnswerFaults;
  /** Methods added by other modules (files.*), same contract as the built-in ones. */
  extraMethods?: Record<string, ApiMethod>;
}

/** Token from `Authorization: Bearer`, else the `token` argument, as Slack reads it. */
function tokenOf(req: Request, args: ApiArgs): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim() || undefined;
  return typeof args.token === 'string' && args.token !== '' ? args.token : undefined;
}

/** The channel a call concerns, as an id when it resolves, for stats and per-channel limits. */
function channelKey(state: SlackState, args: ApiArgs): string | undefined {
  const ref = args.channel;
  if (typeof ref !== 'string' || ref === '') return undefined;
  if (/^[UW][A-Z0-9]+$/.test(ref) && state.users.has(ref)) return state.imChannel(ref).id;
  return state.resolveChannel(ref, true)?.id ?? ref;
}

/**
 * The Web API under `/api/<method>`: form or JSON bodies (query strings too, as
 * Slack accepts GET), HTTP 200 with `{ok: false, error}` for every failure
 * except rate limits, which are 429 with `Retry-After`, and armed answer
 * faults (429/500/503, the call not performed). Every call is counted and logged.
 */
export function createWebApiRouter(deps: WebApiDeps): Router {
  const methods = { ...API_METHODS, ...deps.extraMethods };
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '5mb' }));
  router.use(express.json({ limit: '5mb' }));

  router.all('/:method', async (req: Request, res: Response) => {
    const method = String(req.params.method);
    const args: ApiArgs = { ...(req.query as ApiArgs), ...((req.body ?? {}) as ApiArgs) };
    const handler = methods[method];
    if (!handler) {
      res.json({ ok: false, error: 'unknown_method', req_method: method });
      return;
    }
    const token = tokenOf(req, args);
    if (!token) {
      res.json({ ok: false, error: 'not_authed' });
      return;
    }
    if (token !== deps.botToken) {
      res.json({ ok: false, error: 'invalid_auth' });
      return;
    }
    const channelId = channelKey(deps.state, args);
    deps.stats.call(method, channelId);
    const record = deps.stats.record(method, channelId, Date.now());
    res.on('finish', () => {
      record.answeredAt = Date.now();
    });
    const answer = (status: number, body: Record<string, unknown>) => {
      record.status = status;
      if (body.ok === false && typeof body.error === 'string') record.error = body.error;
      res.status(status).json(body);
    };
    // Before the rate limiter: Slack refusing a call does not spend the workspace's budget.
    const faulted = deps.answers?.take(method);
    if (faulted) {
      deps.stats.faulted(method, channelId);
      if (faulted.status === 429) {
        deps.stats.ratelimited(method, channelId);
        record.retryAfter = Number(faulted.headers['Retry-After']);
      }
      record.faulted = true;
      deps.logger.info({ method, channel: channelId, status: faulted.status }, 'sandbox fault: call answered with an error, not performed');
      res.set(faulted.headers);
      answer(faulted.status, faulted.body);
      return;
    }
    const verdict = deps.limiter.check(method, channelId);
    if (!verdict.allowed) {
      deps.stats.ratelimited(method, channelId);
      deps.logger.info({ method, channel: channelId, retryAfter: verdict.retryAfterSeconds }, 'slack api call rate limited');
      record.retryAfter = verdict.retryAfterSeconds;
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      answer(429, { ok: false, error: 'ratelimited' });
      return;
    }
    try {
      const result = await handler({ state: deps.state, args, baseUrl: deps.baseUrl(), logger: deps.logger });
      deps.logger.debug({ method, channel: channelId }, 'slack api call');
      const fault = deps.faults?.take(method);
      if (fault) {
        // Done, but the caller never hears so: the answer is held, then the connection closes.
        deps.logger.info({ method, channel: channelId, hangMs: fault.hangMs }, 'sandbox fault: call performed, answer withheld');
        const timer = setTimeout(() => res.socket?.destroy(), fault.hangMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      answer(200, { ok: true, ...result });
    } catch (err) {
      if (err instanceof SlackApiFailure) {
        deps.logger.debug({ method, channel: channelId, error: err.error }, 'slack api call refused');
        answer(200, { ok: false, error: err.error, ...err.extra });
        return;
      }
      deps.logger.error({ err, method }, 'sandbox slack method failed');
      answer(200, { ok: false, error: 'internal_error' });
    }
  });
  return router;
}

import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../../lib/logger';
import { type ApiArgs, type ApiMethod, SlackApiFailure } from './methods/api-context';
import { authMethods } from './methods/auth';
import { chatMethods } from './methods/chat';
import { conversationMethods } from './methods/conversations';
import { reactionMethods } from './methods/reactions';
import { userMethods } from './methods/users';
import { usergroupMethods } from './methods/usergroups';
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
 * except rate limits, which are 429 with `Retry-After`.
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
    const verdict = deps.limiter.check(method, channelId);
    if (!verdict.allowed) {
      deps.stats.ratelimited(method, channelId);
      deps.logger.info({ method, channel: channelId, retryAfter: verdict.retryAfterSeconds }, 'slack api call rate limited');
      res.status(429).set('Retry-After', String(verdict.retryAfterSeconds)).json({ ok: false, error: 'ratelimited' });
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
      res.json({ ok: true, ...result });
    } catch (err) {
      if (err instanceof SlackApiFailure) {
        deps.logger.debug({ method, channel: channelId, error: err.error }, 'slack api call refused');
        res.json({ ok: false, error: err.error, ...err.extra });
        return;
      }
      deps.logger.error({ err, method }, 'sandbox slack method failed');
      res.json({ ok: false, error: 'internal_error' });
    }
  });
  return router;
}

import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';
import { slackSignature } from '../lib/slack-signature';

/** Slack's replay window, both ways: a request more than this far from now is refused. */
const MAX_SKEW_S = 300;
/** Slack's own limit on what it sends us is far below this. */
const BODY_LIMIT = '1mb';

/** What every interactive payload (buttons, menus, modals) and slash command must carry: who acted. */
const InteractiveSchema = z.looseObject({ type: z.string(), user: z.looseObject({ id: z.string().min(1) }) });
const CommandSchema = z.looseObject({ command: z.string().min(1), user_id: z.string().min(1) });

function signatureOk(secret: string, req: Request, body: string): boolean {
  const given = req.get('x-slack-signature') ?? '';
  const expected = slackSignature(secret, req.get('x-slack-request-timestamp') ?? '', body);
  return given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

/** Where the signatures of requests already let through are kept, for as long as their timestamp stays in the window. */
export const replayKey = (prefix: string, signature: string) => `${prefix}:slack:seen:${signature}`;

/**
 * In front of Bolt's receiver on `/slack/events`: refuses a request timestamp
 * more than 5 minutes ahead (Bolt only refuses old ones), a signed payload
 * that names no user (a 400 here, not a 500 from a listener), and, given
 * Redis, a replay: the very same signed request a second time without
 * Slack's `X-Slack-Retry-Num` (a 401; Slack's own retries pass). The body is
 * read once and handed to Bolt as `rawBody`, which Bolt verifies as usual.
 */
export function createSlackRequestGuard(options: {
  signingSecret: string;
  logger: Logger;
  now?: () => number;
  /** Remembers signatures let through (one key each, expiring with the replay window). */
  replays?: { redis: Redis; prefix: string };
}): Router {
  const router = express.Router();
  const now = options.now ?? Date.now;
  const refuse = (res: Response, status: number, error: string, message: string) => res.status(status).json({ ok: false, error, message });

  router.use(express.raw({ type: () => true, limit: BODY_LIMIT }));
  router.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') return refuse(res, 413, 'too_large', 'body exceeds the limit');
    if (err.type === 'encoding.unsupported') return refuse(res, 415, 'unsupported_encoding', 'unsupported Content-Encoding');
    if (err.type || (typeof err.status === 'number' && err.status < 500)) {
      return refuse(res, 400, 'invalid_body', 'the body could not be read (bad encoding or compression)');
    }
    next(err);
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    const raw = Buffer.isBuffer(req.body) ? (req.body as Buffer) : Buffer.alloc(0);
    (req as Request & { rawBody?: Buffer }).rawBody = raw;
    const ts = Number(req.get('x-slack-request-timestamp'));
    if (Number.isFinite(ts) && ts > Math.floor(now() / 1000) + MAX_SKEW_S) {
      options.logger.warn({ ts }, 'slack request timestamp is in the future: refused');
      return refuse(res, 401, 'invalid_timestamp', 'x-slack-request-timestamp is more than 5 minutes ahead');
    }
    const body = raw.toString('utf8');
    // Only a genuine Slack request gets a 400 about its shape; anything else goes to Bolt's 401.
    if (!signatureOk(options.signingSecret, req, body)) return next();
    const form = new URLSearchParams(body);
    let problem: string | undefined;
    if (form.has('payload')) {
      let payload: unknown;
      try {
        payload = JSON.parse(form.get('payload') ?? '');
      } catch {
        problem = 'payload is not JSON';
      }
      if (!problem && !InteractiveSchema.safeParse(payload).success) problem = 'the payload names no user (user.id)';
    } else if (form.has('command') && !CommandSchema.safeParse(Object.fromEntries(form)).success) {
      problem = 'the command names no user (user_id)';
    }
    if (problem) {
      options.logger.warn({ problem }, 'signed slack request refused');
      return refuse(res, 400, 'invalid_payload', problem);
    }
    // Inside the window (an older one is Bolt's 401) and not a retry Slack announces: seen once, refused after.
    if (!options.replays || req.get('x-slack-retry-num') !== undefined || !(Math.abs(ts - Math.floor(now() / 1000)) <= MAX_SKEW_S)) return next();
    const { redis, prefix } = options.replays;
    redis.set(replayKey(prefix, req.get('x-slack-signature')!), '1', 'EX', 2 * MAX_SKEW_S + 60, 'NX').then(
      (fresh) => {
        if (fresh) return next();
        options.logger.warn({ ts }, 'signed slack request replayed: refused');
        refuse(res, 401, 'replayed', 'this signed request was already received');
      },
      (err: unknown) => {
        // Without Redis the bot cannot act anyway; let Bolt answer rather than refuse every person.
        options.logger.warn({ err }, 'could not check a slack request for replay');
        next();
      },
    );
  });
  return router;
}

import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { PostRequestSchema, ReactRequestSchema, runPost, runReact, runShortcut, ShortcutRequestSchema } from './events';
import { ClickRequestSchema, CommandRequestSchema, type PersonActionDeps, type PersonActionResult, runClick, runCommand } from './person-actions';
import { AnswerFaultSchema, type AnswerFaults } from './answer-faults';
import type { CallFaults } from './call-faults';
import { type RateLimiter, resolveRateLimits } from './rate-limits';
import { useResponseUrl } from './respond';
import type { Stats } from './stats';

export interface ControlDeps extends PersonActionDeps {
  stats: Stats;
  limiter: RateLimiter;
  faults: CallFaults;
  answers: AnswerFaults;
  /** Web API methods the sandbox implements: answer faults may name only these. */
  methods: string[];
  /** Clears messages, ephemerals, stats, rate-limit buckets and faults. */
  reset: () => void;
}

function send(res: Response, result: PersonActionResult): void {
  if (result.ok) {
    res.json(result);
    return;
  }
  const { httpStatus, ...rest } = result;
  res.status(httpStatus).json(rest);
}

function badRequest(res: Response, error: z.ZodError): void {
  res.status(400).json({ ok: false, error: 'invalid_arguments', reason: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
}

/**
 * `/_sandbox/*`: what only the sandbox has. Acting as a person (command,
 * click), reading ephemeral messages, the response_url endpoint, stats,
 * rate-limit control and reset.
 */
export function createControlRouter(deps: ControlDeps): Router {
  const router = express.Router();
  router.use(express.json({ limit: '5mb' }));
  router.use(express.urlencoded({ extended: false }));

  router.post('/command', async (req: Request, res: Response) => {
    const parsed = CommandRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    send(res, await runCommand(deps, parsed.data));
  });

  router.post('/click', async (req: Request, res: Response) => {
    const parsed = ClickRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    send(res, await runClick(deps, parsed.data));
  });

  router.post('/react', async (req: Request, res: Response) => {
    const parsed = ReactRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    send(res, await runReact(deps, parsed.data));
  });

  router.post('/post', async (req: Request, res: Response) => {
    const parsed = PostRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    const result = await runPost(deps, parsed.data);
    if (result.ok) res.json(result);
    else {
      const { httpStatus, ...rest } = result;
      res.status(httpStatus).json(rest);
    }
  });

  router.post('/shortcut', async (req: Request, res: Response) => {
    const parsed = ShortcutRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    send(res, await runShortcut(deps, parsed.data));
  });

  router.post('/respond/:id', (req: Request, res: Response) => {
    const outcome = useResponseUrl(deps.state, String(req.params.id), req.body ?? {});
    if (outcome.ok) res.json({ ok: true });
    else res.status(outcome.status).json({ ok: false, error: outcome.error, errors: outcome.errors });
  });

  router.get('/ephemeral', (req: Request, res: Response) => {
    const q = z.object({ user: z.string().optional(), channel: z.string().optional() }).safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    const user = q.data.user ? deps.state.resolveUser(q.data.user)?.id ?? q.data.user : undefined;
    const channel = q.data.channel ? deps.state.resolveChannel(q.data.channel, true)?.id ?? q.data.channel : undefined;
    const messages = deps.state.ephemerals.filter((e) => (!user || e.user === user) && (!channel || e.channel === channel));
    res.json({ ok: true, messages });
  });

  router.get('/stats', (_req: Request, res: Response) => {
    res.json(deps.stats.snapshot());
  });
  /** Zeroes the counts and empties the call log. */
  router.delete('/stats', (_req: Request, res: Response) => {
    deps.stats.reset();
    res.json({ ok: true });
  });

  router.get('/rate-limits', (_req: Request, res: Response) => {
    res.json({ ok: true, limits: deps.limiter.table() });
  });
  /** Body: a partial table merged over Slack's defaults, or `false` to turn limits off. */
  router.put('/rate-limits', (req: Request, res: Response) => {
    const Limit = z.object({ perMinute: z.number().positive(), burst: z.number().int().positive(), scope: z.enum(['method', 'channel']) }).partial();
    const parsed = z.union([z.literal(false), z.record(z.string(), Limit)]).safeParse(req.body?.limits);
    if (!parsed.success) return badRequest(res, parsed.error);
    deps.limiter.setTable(resolveRateLimits(parsed.data));
    res.json({ ok: true, limits: deps.limiter.table() });
  });

  /**
   * Body: `{faults?: [{method, count, hangMs}], answers?: [{status, methods?, count | durationMs, retryAfterSeconds?}]}`.
   * `faults`: the next `count` calls of `method` are performed, then never answered.
   * `answers`: calls answered 429 (`Retry-After`) / 500 / 503 and not performed (answer-faults.ts).
   * PUT replaces both lists (one left out is emptied), so a test never inherits a stale fault;
   * a body with neither, or anything invalid, is 400 with the reason and changes nothing.
   */
  router.put('/faults', (req: Request, res: Response) => {
    const known = new Set(deps.methods);
    const Hang = z.strictObject({ method: z.string().regex(/^[a-z]+\.[A-Za-z.]+$/), count: z.number().int().positive().max(1000), hangMs: z.number().int().min(0).max(60_000) });
    const Answer = AnswerFaultSchema.superRefine((f, ctx) => {
      for (const [i, m] of (f.methods ?? []).entries()) {
        if (!known.has(m)) ctx.addIssue({ code: 'custom', path: ['methods', i], message: `the sandbox has no Web API method ${m}` });
      }
    });
    const Body = z
      .strictObject({ faults: z.array(Hang).max(20).optional(), answers: z.array(Answer).max(20).optional() })
      .refine((b) => b.faults !== undefined || b.answers !== undefined, { message: 'give faults and/or answers (DELETE clears)' });
    const parsed = Body.safeParse(req.body ?? {});
    if (!parsed.success) return badRequest(res, parsed.error);
    deps.faults.set(parsed.data.faults ?? []);
    deps.answers.set(parsed.data.answers ?? []);
    res.json({ ok: true, faults: deps.faults.list(), answers: deps.answers.list() });
  });
  router.get('/faults', (_req: Request, res: Response) => {
    res.json({ ok: true, faults: deps.faults.list().filter((f) => f.count > 0), answers: deps.answers.list() });
  });
  router.delete('/faults', (_req: Request, res: Response) => {
    deps.faults.clear();
    deps.answers.clear();
    res.json({ ok: true });
  });

  /** The call log, oldest first (`?method=` filters): arrival and answer times, status, error, Retry-After. */
  router.get('/calls', (req: Request, res: Response) => {
    const q = z.object({ method: z.string().optional() }).safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    res.json({ ok: true, calls: deps.stats.calls(q.data.method) });
  });

  router.post('/reset', (_req: Request, res: Response) => {
    deps.reset();
    res.json({ ok: true });
  });

  return router;
}

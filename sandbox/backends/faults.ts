import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { sendError, zodReason } from './http-errors';

/**
 * Fault control for drills and tests: `PUT /_sandbox/faults` sets, `GET` shows,
 * `DELETE` clears. PUT replaces the whole state (a field left out goes back to
 * its default), so a drill script never inherits a stale fault.
 */
export const FaultStateSchema = z
  .object({
    /** Every non-/_sandbox request answers 503 `service_unavailable` (an HTTP answer, not a reset, so a client sees a 5xx it can count). */
    down: z.boolean().default(false),
    /** Share of requests answered 500 `internal_error`, 0..1. */
    errorRate: z.number().min(0, 'must be 0..1').max(1, 'must be 0..1').default(0),
    /** Added before each response, in ms. */
    latencyMs: z.number().int('must be an integer').min(0, 'must be >= 0').max(600_000, 'must be <= 600000').default(0),
  })
  .strict();

export type FaultState = z.output<typeof FaultStateSchema>;

const NO_FAULTS: FaultState = { down: false, errorRate: 0, latencyMs: 0 };

export interface FaultControl {
  get(): FaultState;
  set(state: Partial<FaultState>): FaultState;
  clear(): FaultState;
  /** Express middleware applying the current faults to every request outside /_sandbox. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  router(): Router;
}

export function createFaultControl(options: { random?: () => number } = {}): FaultControl {
  const random = options.random ?? Math.random;
  let state: FaultState = { ...NO_FAULTS };

  function middleware(req: Request, res: Response, next: NextFunction): void {
    if (req.path.startsWith('/_sandbox')) return next();
    const current = state;
    if (current.down) return sendError(res, 503, 'service_unavailable', 'service is down (sandbox fault)');
    const proceed = () => {
      if (current.errorRate > 0 && random() < current.errorRate) {
        return sendError(res, 500, 'internal_error', 'injected failure (sandbox fault)');
      }
      next();
    };
    if (current.latencyMs > 0) {
      const timer = setTimeout(proceed, current.latencyMs);
      // A client that gave up (timeout) must not leave the handler running after it.
      res.once('close', () => clearTimeout(timer));
    } else proceed();
  }

  function router(): Router {
    const r = express.Router();
    r.get('/_sandbox/faults', (_req, res) => {
      res.json(state);
    });
    r.put('/_sandbox/faults', (req, res) => {
      const parsed = FaultStateSchema.safeParse(req.body ?? {});
      if (!parsed.success) return sendError(res, 400, 'validation_failed', zodReason(parsed.error));
      state = parsed.data;
      res.json(state);
    });
    r.delete('/_sandbox/faults', (_req, res) => {
      state = { ...NO_FAULTS };
      res.json(state);
    });
    return r;
  }

  return {
    get: () => ({ ...state }),
    set: (next) => (state = FaultStateSchema.parse({ ...state, ...next })),
    clear: () => (state = { ...NO_FAULTS }),
    middleware,
    router,
  };
}

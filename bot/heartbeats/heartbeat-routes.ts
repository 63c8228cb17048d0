import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import type { HeartbeatsConfig } from '../../lib/ops-config-heartbeats';
import type { HeartbeatMonitor } from './heartbeat-monitor';

/**
 * `POST /heartbeats/<name>` with `Authorization: Bearer <the source's token>`:
 * one beat. The token is checked against the SHA-256 in the ops config in
 * constant time, before the (small, optional) body is read.
 */

const NameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);
const BeatBodySchema = z.strictObject({ message: z.string().max(500).optional() }).optional();

export function createHeartbeatRouter(options: { config: HeartbeatsConfig; monitor: HeartbeatMonitor; logger: Logger }): Router {
  const router = Router();
  const json = express.json({ limit: '4kb', type: () => true });

  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    const name = NameSchema.safeParse(req.params.name);
    const source = name.success ? options.config.sources[name.data] : undefined;
    if (!source) return void res.status(404).json({ ok: false, error: 'not_found', message: `no heartbeat named "${String(req.params.name)}"` });
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const given = crypto.createHash('sha256').update(match?.[1]?.trim() ?? '').digest();
    if (!match || !crypto.timingSafeEqual(given, Buffer.from(source.token_sha256, 'hex'))) {
      res.setHeader('WWW-Authenticate', `Bearer realm="heartbeat ${name.data}"`);
      return void res.status(401).json({ ok: false, error: 'unauthorized', message: 'missing or invalid bearer token for this heartbeat' });
    }
    next();
  };

  router.post('/heartbeats/:name', authenticate, json, async (req: Request, res: Response) => {
    const body = BeatBodySchema.safeParse(req.body && Object.keys(req.body as object).length ? req.body : undefined);
    if (!body.success) return void res.status(400).json({ ok: false, error: 'invalid_payload', message: body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
    try {
      const result = await options.monitor.beat(String(req.params.name));
      res.status(200).json({ ok: true, heartbeat: req.params.name, result });
    } catch (err) {
      options.logger.error({ err }, 'heartbeat failed');
      res.status(503).json({ ok: false, error: 'unavailable', message: 'could not record the heartbeat; retry' });
    }
  });

  router.use('/heartbeats', (err: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') return void res.status(413).json({ ok: false, error: 'too_large', message: 'body exceeds 4kb' });
    if (err.type === 'entity.parse.failed') return void res.status(400).json({ ok: false, error: 'invalid_json', message: err.message });
    next(err);
  });
  return router;
}

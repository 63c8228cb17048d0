import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import { createOverrideStore } from '../oncall/oncall-overrides';
import { coverSegments } from '../oncall/handoffs';
import { MAIN_ROTATION, renderIcalFeed } from './ical-feed';

/**
 * `GET /oncall/<rotation>.ics?token=<feed token>`: the rotation with its
 * overrides (config and `/ops oncall override`) as an iCalendar feed.
 * Unknown rotation or a wrong token: 404 alike, so names do not leak.
 */
const QuerySchema = z.object({ token: z.string().min(1).max(512) });
const DAY_MS = 86_400_000;

export function createCalendarRouter(options: { config: OpsConfig; redis: Redis; prefix: string; logger: Logger; now?: () => Date }): Router {
  const router = Router();
  const { config } = options;
  const expected = config.calendars.feed.token_sha256;
  const store = createOverrideStore({ redis: options.redis, prefix: options.prefix });

  router.get('/oncall/:file', async (req: Request, res: Response) => {
    const m = /^([A-Za-z0-9._-]+)\.ics$/.exec(String(req.params.file));
    const name = m?.[1];
    const known = name === MAIN_ROTATION || (name !== undefined && name in config.oncall.rotations);
    const query = QuerySchema.safeParse(req.query);
    const given = crypto.createHash('sha256').update(query.success ? query.data.token : '').digest();
    const ok = expected !== undefined && crypto.timingSafeEqual(given, Buffer.from(expected, 'hex'));
    if (!known || !ok) return void res.status(404).type('text/plain').send('no such calendar');
    try {
      const now = options.now?.() ?? new Date();
      const from = new Date(now.getTime() - config.calendars.feed.days_back * DAY_MS);
      const to = new Date(now.getTime() + config.calendars.feed.days_ahead * DAY_MS);
      const overrides = await store.live(from);
      const rotation = name === MAIN_ROTATION ? undefined : name;
      const body = renderIcalFeed(name!, config, coverSegments(config, overrides, from, to, rotation), now);
      res.status(200).type('text/calendar; charset=utf-8').setHeader('Cache-Control', 'private, max-age=300');
      res.send(body);
    } catch (err) {
      options.logger.error({ err }, 'calendar feed failed');
      res.status(503).type('text/plain').send('calendar unavailable; retry');
    }
  });
  return router;
}

import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { SlackState } from './state';
import { toWireMessage } from './wire';
import { PAGE_CSP, PAGE_CSS, PAGE_JS, renderWebPage } from './web-page';

/**
 * Read-only views for the web page: what a person in the workspace sees,
 * without handing the page the bot token. Messages have the Web API's shape.
 */
export function createViewRouter(state: SlackState): Router {
  const router = express.Router();

  router.get('/', (_req: Request, res: Response) => {
    res.set('Content-Security-Policy', PAGE_CSP).type('html').send(renderWebPage());
  });
  router.get('/_sandbox/web/page.js', (_req: Request, res: Response) => {
    res.type('text/javascript').set('Cache-Control', 'no-cache').send(PAGE_JS);
  });
  router.get('/_sandbox/web/page.css', (_req: Request, res: Response) => {
    res.type('text/css').set('Cache-Control', 'no-cache').send(PAGE_CSS);
  });

  router.get('/_sandbox/workspace', (_req: Request, res: Response) => {
    const channels = [...state.channels.values()]
      .filter((c) => !c.isIm)
      .map((c) => ({ id: c.id, name: c.name, purpose: c.purpose }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const users = [...state.users.values()].map((u) => ({ id: u.id, name: u.name, realName: u.realName, isBot: u.isBot, title: u.title }));
    res.json({ ok: true, channels, users });
  });

  /** A channel's top-level messages oldest first, or one thread; plus the viewer's ephemerals. */
  router.get('/_sandbox/messages', (req: Request, res: Response) => {
    const q = z.object({ channel: z.string().min(1), thread_ts: z.string().optional(), user: z.string().optional() }).safeParse(req.query);
    const channel = q.success ? state.resolveChannel(q.data.channel, true) : undefined;
    if (!q.success || !channel) {
      res.status(404).json({ ok: false, error: 'channel_not_found' });
      return;
    }
    // A reply's ts opens its whole thread, as conversations.replies does.
    const asked = q.data.thread_ts ? state.findMessage(channel.id, q.data.thread_ts) : undefined;
    const threadTs = q.data.thread_ts ? (asked?.threadTs ?? q.data.thread_ts) : undefined;
    const stored = state
      .channelMessages(channel.id)
      .filter((m) => (threadTs ? m.ts === threadTs || m.threadTs === threadTs : m.threadTs === undefined || m.broadcast));
    const viewer = q.data.user ? state.resolveUser(q.data.user)?.id : undefined;
    const ephemeral = state.ephemerals.filter(
      (e) => e.user === viewer && e.channel === channel.id && (threadTs ? e.threadTs === threadTs : e.threadTs === undefined),
    );
    res.json({ ok: true, channel: { id: channel.id, name: channel.name }, messages: stored.map((m) => toWireMessage(state, m)), ephemeral });
  });

  return router;
}

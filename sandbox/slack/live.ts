import type { Request, Response } from 'express';

/**
 * Live updates for the web page: a server-sent event stream that says "the
 * workspace changed" after anything that can change it (every non-GET
 * request the sandbox answers: Web API writes, person actions, uploads,
 * response_urls, reset). The page refetches what it shows; the events carry
 * only a version counter, so nothing posted ever travels through them.
 */
export interface LiveHub {
  /** GET handler: `text/event-stream`, one `change` event per (coalesced) change. */
  stream(req: Request, res: Response): void;
  /** Marks the workspace changed; events are coalesced over `coalesceMs`. */
  changed(): void;
  /** Ends every open stream (on sandbox stop, so the server can close). */
  closeAll(): void;
  /** Open streams, for tests. */
  size(): number;
}

export function createLiveHub(coalesceMs = 40): LiveHub {
  const clients = new Set<Response>();
  let version = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    for (const res of clients) res.write(`event: change\nid: ${version}\ndata: {"version":${version}}\n\n`);
  };

  return {
    stream(req, res) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      // Tells EventSource how long to wait before reconnecting, and the current version.
      res.write(`retry: 1000\nevent: hello\ndata: {"version":${version}}\n\n`);
      clients.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      ping.unref();
      req.on('close', () => {
        clearInterval(ping);
        clients.delete(res);
      });
    },
    changed() {
      version += 1;
      if (!timer && clients.size > 0) {
        timer = setTimeout(flush, coalesceMs);
        timer.unref();
      }
    },
    closeAll() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const res of clients) res.end();
      clients.clear();
    },
    size: () => clients.size,
  };
}

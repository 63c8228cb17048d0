import fs from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';
import { ConfigError } from '../../lib/errors';
import { RUNBOOK_NAME_RE, type Runbook } from '../../lib/runbook';

/** One line of `GET /runbooks`. */
export interface RunbookIndexEntry {
  alert: string;
  title: string;
  priority: Runbook['priority'];
  severity: string;
  /** Relative to the bot's base URL, as the alert rules' runbook_url. */
  url: string;
}

/**
 * The runbooks the alert rules link to (`runbook_url: <bot>/runbooks/<alertname>.yaml`):
 *   GET /runbooks              JSON index: alert, title, priority, severity, url
 *   GET /runbooks/<alert>.yaml the file as written, text/yaml
 * Only names in `runbooks` (already validated) are served, from text read here
 * once, so a request can never reach another file and what people read is what
 * the bot loaded. Anything else under /runbooks/ is a 404 with the reason.
 */
export function createRunbookRouter(runbooks: ReadonlyMap<string, Runbook>, rawDir: string): Router {
  const raw = new Map<string, string>();
  for (const name of runbooks.keys()) {
    const file = path.join(rawDir, `${name}.yaml`);
    try {
      raw.set(name, fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read runbook ${file}: ${(err as Error).message}`, [`${file}: cannot read`]);
    }
  }
  const index: RunbookIndexEntry[] = [...runbooks.values()]
    .sort((a, b) => a.alert.localeCompare(b.alert))
    .map((r) => ({ alert: r.alert, title: r.title, priority: r.priority, severity: r.severity, url: `/runbooks/${r.alert}.yaml` }));

  const notFound = (res: Response, message: string) => {
    res.status(404).json({ ok: false, error: 'not_found', message });
  };

  const router = Router();
  router.get('/runbooks', (_req, res) => {
    res.json({ runbooks: index });
  });
  router.get('/runbooks/:name.yaml', (req, res) => {
    const name = req.params.name;
    if (!RUNBOOK_NAME_RE.test(name)) {
      notFound(res, `"${name.slice(0, 80)}" is not an alert name (letters, digits, _ and -, at most 64)`);
      return;
    }
    const text = raw.get(name);
    if (text === undefined) {
      notFound(res, `no runbook for alert "${name}"; GET /runbooks lists them`);
      return;
    }
    res.set('X-Content-Type-Options', 'nosniff').type('text/yaml; charset=utf-8').send(text);
  });
  router.get('/runbooks/*rest', (_req, res) => {
    notFound(res, 'runbooks are served as /runbooks/<alertname>.yaml; GET /runbooks lists them');
  });
  return router;
}

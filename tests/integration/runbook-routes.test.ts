/**
 * bot/runbook-routes.ts over real HTTP: the index, each file as text/yaml,
 * 404 JSON with the reason, and no way out of the runbooks directory.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { parse } from 'yaml';
import { createRunbookRouter } from '../../bot/actions/runbook-routes';
import { ConfigError } from '../../lib/errors';
import { listen, type RunningServer } from '../../lib/http';
import { loadRunbooks, RULE_FREE_ALERTS, RUNBOOKS_DIR, RunbookSchema } from '../../lib/runbook';

const RULES_FILE = path.join(__dirname, '..', '..', 'monitoring', 'rules', 'mcp-financial-server.yml');
const runbooks = loadRunbooks();

async function serve(router: express.Router): Promise<RunningServer> {
  const app = express();
  app.use(router);
  return listen(app, 0);
}

/** GET with the path sent exactly as given (fetch would normalise "..", which is what we want to test). */
function rawGet(server: RunningServer, rawPath: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('runbook routes', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve(createRunbookRouter(runbooks, RUNBOOKS_DIR));
  });
  afterAll(async () => {
    await server.close();
  });

  it('GET /runbooks lists every runbook: alert, title, priority', async () => {
    const res = await fetch(`${server.url}/runbooks`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { runbooks: Array<{ alert: string; title: string; priority: string; url: string }> };
    expect(body.runbooks.map((r) => r.alert)).toEqual([...runbooks.keys()].sort());
    const down = body.runbooks.find((r) => r.alert === 'ServiceDown');
    expect(down).toEqual({ alert: 'ServiceDown', title: runbooks.get('ServiceDown')!.title, priority: 'P1', severity: 'critical', url: '/runbooks/ServiceDown.yaml' });
  });

  it('GET /runbooks/<alert>.yaml returns the file as written, as text/yaml, and it is the runbook the bot loaded', async () => {
    const res = await fetch(`${server.url}/runbooks/HighAuthFailureRate.yaml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/yaml; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await res.text();
    expect(text).toBe(fs.readFileSync(path.join(RUNBOOKS_DIR, 'HighAuthFailureRate.yaml'), 'utf8'));
    expect(RunbookSchema.parse(parse(text))).toEqual(runbooks.get('HighAuthFailureRate'));
  });

  it('every runbook_url in the alert rules answers 200 once its base is this server', async () => {
    const doc = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; annotations?: { runbook_url?: string } }> }> };
    const urls = doc.groups.flatMap((g) => g.rules).flatMap((r) => (r.alert ? [r.annotations!.runbook_url!] : []));
    // One per runbook file (the seed's 14 alerts and the alert path's own), except the alerts no rule
    // raises (RULE_FREE_ALERTS: the routine's BackupFailed comes from the workers, not Prometheus).
    const ruled = fs.readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.yaml') && !(f.replace(/\.yaml$/, '') in RULE_FREE_ALERTS));
    expect(urls).toHaveLength(ruled.length);
    for (const url of urls) {
      const local = url.replace(/^.*?(?=\/runbooks\/)/, server.url);
      const res = await fetch(local);
      expect({ url, status: res.status, type: res.headers.get('content-type') }).toEqual({ url, status: 200, type: 'text/yaml; charset=utf-8' });
      await res.text();
    }
  });

  it('an unknown alert is 404 JSON with the reason', async () => {
    const res = await fetch(`${server.url}/runbooks/NoSuchAlert.yaml`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, error: 'not_found', message: 'no runbook for alert "NoSuchAlert"; GET /runbooks lists them' });
  });

  it('an invalid name is 404 JSON saying why', async () => {
    const res = await fetch(`${server.url}/runbooks/Service.Down.yaml`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ ok: false, error: 'not_found', message: expect.stringContaining('"Service.Down" is not an alert name') });
  });

  it.each([
    '/runbooks/../package.json',
    '/runbooks/..%2fpackage.yaml',
    '/runbooks/%2e%2e%2f%2e%2e%2fpackage.yaml',
    '/runbooks/..%5cpackage.yaml',
    '/runbooks/ServiceDown.yaml%00.json',
    '/runbooks/sub/ServiceDown.yaml',
    '/runbooks/ServiceDown',
  ])('%s cannot reach any file: 404 JSON', async (rawPath) => {
    const res = await rawGet(server, rawPath);
    expect(res.status).toBe(404);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toMatchObject({ ok: false, error: 'not_found' });
    expect(res.body).not.toContain('mcp-financial-ops');
  });
});

describe('createRunbookRouter', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-routes-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the text read when it was built, not a later edit of the file', async () => {
    fs.copyFileSync(path.join(RUNBOOKS_DIR, 'ServiceDown.yaml'), path.join(dir, 'ServiceDown.yaml'));
    const loaded = loadRunbooks(dir);
    const server = await serve(createRunbookRouter(loaded, dir));
    try {
      fs.writeFileSync(path.join(dir, 'ServiceDown.yaml'), 'alert: tampered\n');
      const res = await fetch(`${server.url}/runbooks/ServiceDown.yaml`);
      expect(await res.text()).toBe(fs.readFileSync(path.join(RUNBOOKS_DIR, 'ServiceDown.yaml'), 'utf8'));
      const index = (await (await fetch(`${server.url}/runbooks`)).json()) as { runbooks: unknown[] };
      expect(index.runbooks).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('refuses to start when a loaded runbook has no file in rawDir', () => {
    expect(() => createRunbookRouter(runbooks, dir)).toThrow(ConfigError);
  });
});

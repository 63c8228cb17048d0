import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { createSandboxClient, createSlackSandbox, type SandboxClient, type SlackMessage, type SlackSandbox } from '../../sandbox/slack';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';

/**
 * Helpers of the crash-/fault- tests: real bot processes (one OS process each,
 * so SIGKILL reaches the program itself), a sandbox Slack that outlives them,
 * an Alertmanager-like poster that retries as Alertmanager does, and storms.
 */

export const ROOT = path.resolve(__dirname, '../..');
export const CRASH_SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-crash-test-token',
  SLACK_SIGNING_SECRET: 'crash-test-signing-secret-0123456789',
  ALERTMANAGER_WEBHOOK_TOKEN: 'crash-test-webhook-token-0123456789',
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The example ops config changed by `mutate`, written under .tmp/ (ignored); returns its path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function writeOpsConfig(name: string, mutate: (config: Record<string, any>) => void): string {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const config = parse(fs.readFileSync(path.join(ROOT, 'config/ops.example.yaml'), 'utf8')) as Record<string, any>;
  mutate(config);
  const file = path.join(ROOT, '.tmp', `${name}-ops.yaml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, stringify(config));
  return file;
}

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<void>;
  alive(): boolean;
  /** kill -9, resolves once it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** `node --import tsx <entry>`: one process (tsx's CLI would run the program in a grandchild SIGKILL never reaches). */
export function spawnNode(entry: string, env: NodeJS.ProcessEnv): NodeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    alive,
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for 200 on `url` while `proc` lives; throws with its output when it exits. */
export async function waitFor200(proc: NodeProcess, url: string, timeoutMs = 45_000): Promise<void> {
  await eventually(
    async () => {
      if (!proc.alive()) throw new Error(`process exited:\n${proc.output()}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    },
    timeoutMs,
    100,
  );
}

/** A sandbox Slack that outlives the bot processes, and the bot's environment pointing at it. */
export interface CrashBed {
  slack: SlackSandbox;
  sandbox: SandboxClient;
  botPort: number;
  botUrl: string;
  botEnv: NodeJS.ProcessEnv;
  bots: NodeProcess[];
  /** Starts a bot process (bot/main.ts) and waits for its /health. */
  startBot(extra?: NodeJS.ProcessEnv): Promise<NodeProcess>;
  close(): Promise<void>;
}

export async function startCrashBed(options: { redisUrl: string; prefix: string; opsConfig: string; env?: NodeJS.ProcessEnv }): Promise<CrashBed> {
  const botPort = await freePort();
  const slack = createSlackSandbox({
    botToken: CRASH_SECRETS.SLACK_BOT_TOKEN,
    signingSecret: CRASH_SECRETS.SLACK_SIGNING_SECRET,
    requestUrl: `http://127.0.0.1:${botPort}/slack/events`,
  });
  const { url } = await slack.start(0);
  const sandbox = createSandboxClient(url, { token: CRASH_SECRETS.SLACK_BOT_TOKEN });
  const botEnv: NodeJS.ProcessEnv = {
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    BOT_PORT: String(botPort),
    SLACK_API_URL: `${url}/api/`,
    OPS_CONFIG: options.opsConfig,
    ...CRASH_SECRETS,
    ...options.env,
  };
  const bots: NodeProcess[] = [];
  const botUrl = `http://127.0.0.1:${botPort}`;
  return {
    slack,
    sandbox,
    botPort,
    botUrl,
    botEnv,
    bots,
    async startBot(extra = {}) {
      const bot = spawnNode('bot/main.ts', { ...botEnv, ...extra });
      bots.push(bot);
      await waitFor200(bot, `${botUrl}/health`);
      return bot;
    },
    async close() {
      for (const b of bots) await b.stop(5000);
      await slack.stop();
    },
  };
}

export interface Delivery {
  status: number;
  /** Every attempt's outcome: an HTTP status, or the connection error's code. */
  attempts: Array<number | string>;
  body: AlertmanagerWebhook;
}

/**
 * Posts like Alertmanager's webhook notifier: a 2xx is done, a 4xx is given up,
 * a 5xx or a connection error is retried with a growing backoff (Alertmanager
 * backs off exponentially from its notifier start) until `giveUpMs`.
 */
export function alertmanagerPoster(url: string, token = CRASH_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN, giveUpMs = 60_000) {
  const sent: Delivery[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let inFlight = 0;
  async function deliver(body: AlertmanagerWebhook): Promise<Delivery> {
    const attempts: Array<number | string> = [];
    const deadline = Date.now() + giveUpMs;
    let wait = 100;
    for (;;) {
      while (gate) await gate;
      inFlight += 1;
      try {
        const res = await fetch(`${url}/alertmanager/webhook`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        attempts.push(res.status);
        if (res.status < 500) {
          const d = { status: res.status, attempts, body };
          sent.push(d);
          return d;
        }
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        attempts.push(cause?.code ?? (err as Error).name);
      } finally {
        inFlight -= 1;
      }
      if (Date.now() > deadline) throw new Error(`delivery of ${body.groupKey} never answered 2xx: ${attempts.join(', ')}`);
      await sleep(wait);
      wait = Math.min(wait * 2, 1000);
    }
  }
  return {
    deliver,
    /** Deliveries answered (2xx or 4xx), in answer order. */
    sent,
    /** New attempts wait until `release()`; attempts already sent go on. */
    hold: () => void (gate ??= new Promise<void>((r) => (open = r))),
    release: () => {
      gate = undefined;
      open?.();
    },
    inFlight: () => inFlight,
  };
}

/** One storm group: `alerts` alerts with their own fingerprints, all firing. */
export function stormGroup(name: string, alerts: number, severity = 'warning'): AlertmanagerWebhook {
  const p = firingFor(name, { severity });
  const t = p.alerts[0]!;
  p.alerts = Array.from({ length: alerts }, (_, k) => ({
    ...t,
    labels: { ...t.labels, instance: `node-${k}` },
    fingerprint: `${Buffer.from(name).toString('hex').slice(-8).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`,
  }));
  return p;
}

/**
 * Alertmanager's deliveries for a storm of groups: per group the first half of
 * its alerts (group_wait), then the grown group (group_interval), then a resend
 * (repeat_interval). Groups run `parallel` at a time, each group in order.
 */
export async function playStorm(
  groups: AlertmanagerWebhook[],
  deliver: (body: AlertmanagerWebhook) => Promise<Delivery>,
  parallel = 6,
  onDelivered?: (count: number) => void,
): Promise<Delivery[]> {
  const all: Delivery[] = [];
  let next = 0;
  const lane = async () => {
    while (next < groups.length) {
      const g = groups[next++]!;
      const half = { ...g, alerts: g.alerts.slice(0, Math.ceil(g.alerts.length / 2)) };
      for (const body of [half, g, g]) {
        all.push(await deliver(body));
        onDelivered?.(all.length);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return all;
}

/** Top-level messages of the channels showing `id`: its own root, or a line of a storm digest. */
export function showing(tops: SlackMessage[], id: string): SlackMessage[] {
  return tops.filter(
    (m) => (m.text.includes(`${id},`) && !m.text.startsWith('Alert storm digest')) || (m.text.startsWith('Alert storm digest') && JSON.stringify(m.blocks ?? '').includes(`*${id}*`)),
  );
}

/** A TCP proxy in front of Redis that can stop one command at the door (see `holdAt`). */
export interface RedisGate {
  /** `redis://127.0.0.1:<port>`: give it to the process under test as REDIS_URL. */
  url: string;
  /**
   * Arms the gate: the first client bytes containing `marker` (e.g. a reply's text in the outbox's enqueue) are
   * never forwarded, nor anything that connection sends after them, as if the process died just before the
   * write left it. Resolves when that happens; the gate is then disarmed for other connections.
   */
  holdAt(marker: string): Promise<void>;
  /** Cuts the connections held so far (the client reconnects, and may send what it sent before again). */
  cutHeld(): void;
  close(): Promise<void>;
}

/** Starts a RedisGate forwarding to `target` (a redis:// URL). */
export async function startRedisGate(target: string): Promise<RedisGate> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const held = new Set<net.Socket>();
  let armed: { marker: Buffer; hit: () => void } | undefined;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port || 6379), hostname || '127.0.0.1');
    sockets.add(client).add(upstream);
    // The last bytes of the previous chunk: a marker split across two chunks is still found.
    let tail = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (held.has(client)) return;
      if (armed) {
        const seen = Buffer.concat([tail, chunk]);
        if (seen.includes(armed.marker)) {
          held.add(client);
          const { hit } = armed;
          armed = undefined;
          hit();
          return;
        }
        tail = seen.subarray(Math.max(0, seen.length - armed.marker.length + 1));
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      held.delete(client);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${own}`,
    holdAt(marker) {
      return new Promise<void>((hit) => (armed = { marker: Buffer.from(marker, 'utf8'), hit }));
    },
    cutHeld() {
      for (const s of held) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

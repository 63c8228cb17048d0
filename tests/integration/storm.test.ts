import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import type { SlackMessage } from '../../sandbox/slack';

/**
 * The storm: 1,000 alerts in 200 groups posted to the real bot's
 * webhook (real HTTP, createBotApp, real Redis, sandbox Slack with Slack's
 * default rate limits). No alert is lost, every incident is visible in Slack
 * (its own root or a line in a storm digest), and Slack never answers 429.
 * The storm threshold is the default ops config's (10 new incidents a minute
 * per channel); the per-channel pace is Slack's own 1 post a second.
 */
jest.setTimeout(120_000);

const GROUPS = 200;
const ALERTS_PER_GROUP = 5;
const SEVERITIES = ['critical', 'high', 'warning', 'info'];

/** Runs `fn` over `items`, `width` at a time, keeping the order of results. */
async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Alertmanager fingerprints are 16 hex digits: the group, then the alert. */
const fingerprint = (g: number, k: number) => `${g.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`;

function group(g: number): AlertmanagerWebhook {
  const p = firingFor(`Storm${g}`, { severity: SEVERITIES[g % SEVERITIES.length]! });
  const template = p.alerts[0]!;
  p.alerts = Array.from({ length: ALERTS_PER_GROUP }, (_, k) => ({
    ...template,
    labels: { ...template.labels, instance: `node-${k}` },
    fingerprint: fingerprint(g, k),
  }));
  return p;
}

const partial = (p: AlertmanagerWebhook, n: number): AlertmanagerWebhook => ({ ...p, alerts: p.alerts.slice(0, n) });
const mentions = (m: SlackMessage | undefined, id: string) => new RegExp(`\\b${id}\\b`).test(JSON.stringify(m?.blocks ?? '') + (m?.text ?? ''));
/** The digest line of an incident (sections hold one line per incident). */
const digestLine = (m: SlackMessage, id: string) =>
  (m.blocks as Array<{ text?: { text?: string } }>).flatMap((b) => (b.text?.text ?? '').split('\n')).find((l) => l.includes(`*${id}*`));

describe('alert storm: 1,000 alerts in 200 groups through the webhook', () => {
  let h: BotHarness;

  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(() => h.close());

  it('loses no alert, shows every incident, and never gets a 429', async () => {
    const groups = Array.from({ length: GROUPS }, (_, g) => group(g));
    const started = Date.now();
    // As Alertmanager does it: a group's first alerts, the group grown to all five, then a resend of the same.
    const ids = await pool(groups, 20, (p) => h.alert(partial(p, 3)));
    const grown = await pool(groups, 20, (p) => h.alert(p));
    const resent = await pool(groups, 20, (p) => h.alert(p));
    const acceptedMs = Date.now() - started;
    expect(new Set(ids).size).toBe(GROUPS);
    expect(grown).toEqual(ids);
    expect(resent).toEqual(ids);

    await h.bot.notifier.drain(90_000);
    expect(await h.bot.outbox.idle(1000)).toBe(true);
    const drainedMs = Date.now() - started;

    // No alert lost: every fingerprint is stored under its group's incident.
    for (const [g, id] of ids.entries()) {
      const alerts = await h.bot.store.alerts(id);
      expect(Object.keys(alerts).sort()).toEqual(Array.from({ length: ALERTS_PER_GROUP }, (_, k) => fingerprint(g, k)).sort());
      expect((await h.bot.store.get(id))!.firing).toBe(ALERTS_PER_GROUP);
    }

    // Every incident visible: its own root, or a line (priority, title, firing count) in a digest; its reply in that thread.
    const history = { 'ops-critical': await h.sandbox.history('ops-critical'), 'ops-alerts': await h.sandbox.history('ops-alerts') };
    let roots = 0;
    let digested = 0;
    for (const [g, id] of ids.entries()) {
      const incident = (await h.bot.store.get(id))!;
      const channel = g % 4 < 2 ? 'ops-critical' : 'ops-alerts';
      const message = history[channel].find((m) => m.ts === incident.rootTs);
      expect(message).toBeDefined();
      expect(mentions(message, id)).toBe(true);
      const thread = (await h.sandbox.replies(channel, incident.rootTs!)).slice(1).map((m) => m.text);
      if (message!.text.startsWith('Alert storm digest')) {
        digested += 1;
        const line = digestLine(message!, id);
        expect(line).toContain(`*${incident.priority}*`);
        expect(line).toContain(`Storm${g}`);
        expect(line).toContain(`${ALERTS_PER_GROUP} firing`);
        expect(thread.some((t) => t.includes(`*${id}* · 🔥`))).toBe(true);
      } else {
        roots += 1;
        expect(JSON.stringify(message!.blocks)).toContain(`${ALERTS_PER_GROUP} firing`);
        expect(thread.some((t) => t.startsWith('🔥'))).toBe(true);
      }
    }
    expect(roots + digested).toBe(GROUPS);
    expect(roots).toBeLessThanOrEqual(2 * h.bot.config.storm.threshold_per_minute);
    expect(digested).toBeGreaterThan(0);

    const stats = await h.sandbox.stats();
    expect(stats.ratelimited).toEqual({});

    // Resolving digested incidents: their line says so and the digest's thread gets the reply.
    const digestedGroups = ids.map((id, g) => ({ id, g })).filter(({ id }) => history['ops-alerts'].some((m) => m.text.startsWith('Alert storm digest') && mentions(m, id)));
    const toResolve = digestedGroups.slice(0, 3);
    for (const { g } of toResolve) await h.alert(resolvedVersion(groups[g]!));
    await h.bot.notifier.drain(30_000);
    for (const { id } of toResolve) {
      const incident = (await h.bot.store.get(id))!;
      expect(incident.state).toBe('resolved');
      const digest = (await h.sandbox.history('ops-alerts')).find((m) => m.ts === incident.rootTs)!;
      expect(digestLine(digest, id)).toMatch(/0 firing, 5 resolved · ✅ resolved$/);
      const thread = (await h.sandbox.replies('ops-alerts', incident.rootTs!)).map((m) => m.text);
      expect(thread.some((t) => t.includes(`*${id}* · ✅ Resolved`))).toBe(true);
    }
    expect((await h.sandbox.stats()).ratelimited).toEqual({});

    const calls = Object.fromEntries(Object.entries(stats.calls).map(([method, c]) => [method, c.total]));
    console.log(
      `storm: ${GROUPS * ALERTS_PER_GROUP} alerts in ${GROUPS} groups, ${3 * GROUPS} webhook deliveries accepted in ${acceptedMs} ms; ` +
        `Slack drained ${drainedMs} ms after the first; ${roots} roots, ${digested} incidents in digests; Slack calls ${JSON.stringify(calls)}; 429s: 0`,
    );
  });
});

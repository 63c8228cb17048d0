import { resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { deliver, doubledReplies, group, inSlack, metric, retryAfterViolations, sleep } from './slack-faults-harness';

/**
 * Issue 13: Slack answers 429 with Retry-After: 3 to chat.postMessage and
 * chat.update for about 10 s (posts for 6 s, edits for 14 s: an edit waits
 * behind its incident's replies, so edits are refused only once replies flow
 * again) while alerts arrive for several groups. The real bot
 * (createBotApp, Bolt, BullMQ, real Redis) against the sandbox Slack, which
 * logs every call. The webhook answers 200 while Slack refuses everything; the
 * outbox never calls a refused method in a channel before Retry-After has
 * passed; afterwards every incident has one root and its replies, each once.
 */
jest.setTimeout(90_000);

const RETRY_AFTER = 3;
const POSTS_REFUSED_MS = 6_000;
const EDITS_REFUSED_MS = 14_000;
const CHANNELS = ['ops-critical', 'ops-alerts'];

describe('Slack answers 429 with Retry-After for ~10 s', () => {
  let h: BotHarness;

  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(() => h.close());

  it('waits Retry-After, loses and doubles nothing, and the webhook never waits for Slack', async () => {
    // Four incidents with their threads in Slack before the fault (their edits will be refused), four opened during it.
    const names = Array.from({ length: 8 }, (_, g) => `RateLimited${g}`);
    const severity = (g: number) => (g % 2 === 0 ? 'high' : 'warning');
    const before = await Promise.all([0, 1, 2, 3].map((g) => deliver(h, group(names[g]!, g, severity(g), 2))));
    await h.bot.notifier.drain(30_000);
    expect(await h.bot.outbox.idle(1000)).toBe(true);
    await h.sandbox.resetStats();

    const armed = await h.sandbox.setAnswerFaults([
      { status: 429, methods: ['chat.postMessage'], durationMs: POSTS_REFUSED_MS, retryAfterSeconds: RETRY_AFTER },
      { status: 429, methods: ['chat.update'], durationMs: EDITS_REFUSED_MS, retryAfterSeconds: RETRY_AFTER },
    ]);
    expect(armed).toHaveLength(2);
    const during = await Promise.all([4, 5, 6, 7].map((g) => deliver(h, group(names[g]!, g, severity(g), 2))));
    await sleep(1500);
    // Every group grows to three alerts (a reply each, and an edit of the roots already posted).
    const grown = await Promise.all(names.map((n, g) => deliver(h, group(n, g, severity(g), 3))));
    await sleep(1500);
    const resolvedGroups = [0, 3, 4, 7];
    const resolved = await Promise.all(resolvedGroups.map((g) => deliver(h, resolvedVersion(group(names[g]!, g, severity(g), 3)))));
    const deliveredAt = Date.now();
    const stillFaulted = (await h.sandbox.faults()).answers.map((a) => a.methods);

    const deliveries = [...before, ...during, ...grown, ...resolved];
    expect(deliveries.map((d) => d.status)).toEqual(deliveries.map(() => 200));
    const ids = [...before, ...during].map((d) => d.incident!);
    expect(new Set(ids).size).toBe(8);
    expect(grown.map((d) => d.incident)).toEqual(ids);
    // The route answered without Slack: while the fault still held, Slack had accepted no write since it was armed.
    expect(stillFaulted).toEqual([['chat.postMessage'], ['chat.update']]);
    const writesAccepted = (await h.sandbox.calls()).filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.status === 200 && c.at <= deliveredAt);
    expect(writesAccepted).toEqual([]);

    await eventually(async () => (await h.sandbox.faults()).answers.length === 0, EDITS_REFUSED_MS + 5000, 200);
    await h.bot.notifier.drain(60_000);
    expect(await h.bot.outbox.idle(1000)).toBe(true);

    // Slack refused both methods, and the outbox saw every refusal as a rate limit.
    const stats = await h.sandbox.stats();
    expect(stats.faulted['chat.postMessage']!.total).toBeGreaterThanOrEqual(2);
    expect(stats.faulted['chat.update']!.total).toBeGreaterThanOrEqual(1);
    for (const method of ['chat.postMessage', 'chat.update']) {
      expect(await metric(h, 'slack_ratelimited_total', { method })).toBe(stats.ratelimited[method]!.total);
    }

    // No call of a refused method in that channel before Retry-After had passed since the 429.
    const calls = await h.sandbox.calls();
    expect(calls.filter((c) => c.status === 429 && c.retryAfter === RETRY_AFTER).length).toBe(stats.faulted['chat.postMessage']!.total + stats.faulted['chat.update']!.total);
    expect(retryAfterViolations(calls)).toEqual([]);

    // Every incident: exactly one root, showing its last state; its replies once each, in order.
    for (const [g, found] of (await inSlack(h, ids, CHANNELS)).entries()) {
      expect(found.roots).toHaveLength(1);
      const incident = (await h.bot.store.get(found.id))!;
      expect(found.roots[0]!.ts).toBe(incident.rootTs);
      expect(doubledReplies(found.replies)).toEqual([]);
      const texts = found.replies.map((r) => r.text);
      const firing = texts.filter((t) => t.startsWith('🔥'));
      expect(firing).toEqual([`🔥 \`${names[g]}\` is firing (\`${(0xfa000 + g).toString(16).padStart(8, '0')}00000002\`)`]);
      const done = texts.filter((t) => t.startsWith('✅ Resolved'));
      const blocks = JSON.stringify(found.roots[0]!.blocks);
      if (resolvedGroups.includes(g)) {
        expect(done).toHaveLength(1);
        expect(texts.indexOf(done[0]!)).toBeGreaterThan(texts.indexOf(firing[0]!));
        expect(incident.state).toBe('resolved');
        expect(blocks).toContain('3 resolved');
      } else {
        expect(done).toEqual([]);
        expect(blocks).toContain('3 firing');
      }
      expect(new Set(texts).size).toBe(texts.length);
    }

    // Nothing given up or refused for good.
    expect(await metric(h, 'slack_outbox_dropped_total')).toBe(0);
    expect(await metric(h, 'slack_outbox_refused_total')).toBe(0);
    expect(await metric(h, 'slack_outbox_depth')).toBe(0);

    const slowest = Math.max(...[...during, ...grown, ...resolved].map((d) => d.ms));
    console.log(
      `429 for posts ${POSTS_REFUSED_MS / 1000} s, edits ${EDITS_REFUSED_MS / 1000} s (Retry-After ${RETRY_AFTER}): ${deliveries.length} webhook deliveries, slowest of those during the fault answered in ${slowest} ms; ` +
        `Slack refused ${stats.faulted['chat.postMessage']!.total} posts and ${stats.faulted['chat.update']!.total} edits; all 8 incidents complete once`,
    );
  });
});

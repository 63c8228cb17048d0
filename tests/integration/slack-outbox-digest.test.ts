import type { Incident } from '../../bot/incidents/incident-store';
import { renderDigest } from '../../bot/slack-outbox/digest-message';
import { validateBlocks } from '../../sandbox/slack';
import { createOutboxHarness, type OutboxHarness } from './slack-outbox-harness';

/**
 * Storm digests: past the threshold, incidents become lines of a digest that
 * is edited in place and split into more digest messages before it could
 * break Block Kit's limits; a digested incident's thread is the digest's.
 */
jest.setTimeout(60_000);

function incident(n: number, title: string): Incident {
  return {
    id: `INC-${n}`,
    receiver: 'bot',
    groupKey: `g${n}`,
    state: n % 3 === 0 ? 'acknowledged' : 'triggered',
    priority: (['P1', 'P2', 'P3', 'P4'] as const)[n % 4]!,
    priorityRule: 'test',
    title,
    summary: '',
    labels: {},
    generatorURL: '',
    runbookUrl: '',
    externalURL: '',
    firing: n,
    resolved: 0,
    version: 1,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    policy: 'default',
    route: 'ops-alerts',
    owner: n % 3 === 0 ? 'U0BOB' : undefined,
  };
}

describe('slack outbox storm digests', () => {
  it('renders the largest digest inside Block Kit limits, P1 first, every incident named', () => {
    // Worst case: the most incidents a digest takes, each title long and full of characters mrkdwn escapes.
    const incidents = Array.from({ length: 100 }, (_, i) => incident(i + 1, `<&>`.repeat(200)));
    const { text, blocks } = renderDigest(incidents, 10);
    expect(validateBlocks(blocks)).toMatchObject({ ok: true });
    for (const i of incidents) expect(text).toMatch(new RegExp(`\\b${i.id}\\b`));
    const lines = (blocks as Array<{ text?: { text?: string } }>).flatMap((b) => (b.text?.text ?? '').split('\n')).filter((l) => /\*INC-\d+\*/.test(l));
    expect(lines).toHaveLength(100);
    expect(lines[0]).toMatch(/\*P1\*/);
    expect(lines.at(-1)).toMatch(/\*P4\*/);
  });

  describe('through Slack', () => {
    let h: OutboxHarness;
    let bot: ReturnType<OutboxHarness['replica']>;

    beforeAll(async () => {
      h = await createOutboxHarness({ stormThresholdPerMinute: 2, digestSize: 3 });
      bot = h.replica();
      await bot.outbox.start();
    });
    afterAll(() => h.close());

    it('lists incidents past the threshold in digests of at most digestSize, edited as they change', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        const id = await h.openIncident('outbox-1', i === 7 ? 'P1' : 'P3');
        ids.push(id);
        await bot.notifier.sync(id);
      }
      expect(await bot.outbox.idle(20_000)).toBe(true);

      const top = (await h.sandbox.history('outbox-1')).reverse();
      const roots = top.filter((m) => !m.text.startsWith('Alert storm digest'));
      const digests = top.filter((m) => m.text.startsWith('Alert storm digest'));
      expect(roots.map((m) => m.text.match(/INC-\d+/)![0])).toEqual(ids.slice(0, 2));
      expect(digests).toHaveLength(2);
      expect(digests.map((d) => (d.text.match(/INC-\d+/g) ?? []).length)).toEqual([3, 3]);
      // The P1 that arrived last leads its digest.
      const withP1 = digests.find((d) => new RegExp(`\\b${ids[7]}\\b`).test(d.text))!;
      expect(withP1.text).toMatch(new RegExp(`^Alert storm digest \\(3 incidents\\): \\[P1\\] ${ids[7]},`));
      for (const id of ids.slice(2)) {
        const incident = (await h.store.get(id))!;
        expect(digests.map((d) => d.ts)).toContain(incident.rootTs);
        expect((await h.store.timeline(id)).some((e) => e.type === 'slack_digest_listed')).toBe(true);
      }

      // A listed incident changes: its line is edited in place, and its reply goes to the digest's thread.
      const listed = ids[3]!;
      await h.addAlerts(listed, ['fp-extra-1', 'fp-extra-2']);
      await bot.notifier.sync(listed, 'two more alerts firing');
      await bot.notifier.postReply((await h.store.get(listed))!, 'bob is on it');
      expect(await bot.outbox.idle(20_000)).toBe(true);
      const digestTs = (await h.store.get(listed))!.rootTs!;
      const digest = (await h.sandbox.history('outbox-1')).find((m) => m.ts === digestTs)!;
      expect(JSON.stringify(digest.blocks)).toMatch(new RegExp(`\\*${listed}\\* · [^\\\\]*— 3 firing`));
      const thread = (await h.sandbox.replies('outbox-1', digestTs)).slice(1).map((m) => m.text);
      expect(thread.join('\n')).toContain(`*${listed}* · two more alerts firing\n*${listed}* · bob is on it`);
      expect((await h.sandbox.stats()).ratelimited).toEqual({});
    });
  });
});

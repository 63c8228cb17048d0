import fc from 'fast-check';
import { firingFor } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import type { SlackMessage } from '../../sandbox/slack/sandbox-client';
import { runs } from './fuzz';
import { foreign, parsedTexts } from './slack-checks';

/**
 * Generalises tests/integration/slack-injection.test.ts: label and annotation
 * values built from Slack control sequences, mrkdwn and escapes, in valid
 * alerts through the real bot. Every message the sandbox Slack stored (roots,
 * edits, thread replies, storm digests) and every `/ops status` answer must
 * render inert: the only `<…>` sequences are the bot's own (dates, the
 * workspace's people and groups it pages, links to the URLs it builds), so
 * nobody is notified by an alert's text.
 */
jest.setTimeout(120_000);

// ---- hostile text: control sequences, mrkdwn, escapes, around random text ----

const foreignUser = fc.stringMatching(/^U[0-9A-Z]{1,10}$/).filter((u) => !/^U0(ALICE|BOB|CAROL|OPSBOT)$/.test(u));
const control = fc.oneof(
  fc.constantFrom('<!channel>', '<!here>', '<!everyone>', '<!channel|channel>', '<!here|here>', '<@U123>', '<#C123>', '<#C0OPSCRIT|ops-critical>', '<!subteam^S1>', '<!subteam^S0OPSLEADS>'),
  fc.constantFrom('<http://x|y>', '<https://evil.test/a|Runbook>', '<mailto:a@evil.test|mail>', '<tel:123|call>', '<javascript:alert(1)|x>', '<!date^1700000000^{date}|x>'),
  foreignUser.map((u) => `<@${u}>`),
  fc.stringMatching(/^C[0-9A-Z]{1,10}$/).map((c) => `<#${c}>`),
  fc.stringMatching(/^S[0-9A-Z]{1,10}$/).map((s) => `<!subteam^${s}>`),
  fc.webUrl().map((u) => `<${u}|click>`),
);
const mrkdwn = fc.constantFrom('*', '_', '~', '`', '```', '>', '&', '<', '>', '&lt;', '&gt;', '&amp;', '&lt;!channel&gt;', '\n', '\n>', '|', '¦', 'ˋ', '\u0000', '\u202e', '@channel', '@here');
const hostile = fc
  .array(fc.oneof({ weight: 3, arbitrary: control }, { weight: 3, arbitrary: mrkdwn }, { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) }), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(''));
/** Values for URL annotations: none of them a URL the bot may link (they carry | < > or a bad scheme). */
const hostileUrl = fc.oneof(
  hostile,
  fc.constantFrom('javascript:alert(1)', 'http://evil.test|forged>', '<!channel>', 'https://x.test/a>b', 'data:text/html,<b>', 'http://vm:19090|<!here>'),
  fc.webUrl().map((u) => `${u}|<!channel>`),
);

const hostileAlert = fc.record({
  alertname: hostile,
  service: hostile,
  severity: fc.oneof(fc.constantFrom('critical', 'high', 'warning', 'info'), hostile),
  extra: fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), hostile, { maxKeys: 4 }),
  summary: hostile,
  description: hostile,
  runbook_url: hostileUrl,
  grafana_url: fc.option(hostileUrl, { nil: undefined }),
  generatorURL: hostileUrl,
  externalURL: hostileUrl,
  receiverLabel: hostile,
});

describe('hostile label and annotation values reach Slack inert', () => {
  let h: BotHarness;
  let n = 0;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Every stored message in the incident channels: top level and thread replies. */
  async function allMessages(): Promise<SlackMessage[]> {
    const out: SlackMessage[] = [];
    for (const channel of ['ops-critical', 'ops-alerts', 'general']) {
      const top = await h.sandbox.history(channel);
      out.push(...top);
      for (const m of top) if (m.reply_count || m.thread_ts === m.ts) out.push(...(await h.sandbox.replies(channel, m.ts)).slice(1));
    }
    return out;
  }

  it('roots, thread replies, digests and /ops status answers carry no control sequence but the bot\'s own', async () => {
    const stats = { messages: 0, escapedSeen: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(hostileAlert, { minLength: 1, maxLength: 3 }), async (alerts) => {
        const ids: string[] = [];
        for (const a of alerts) {
          n += 1;
          const p = firingFor(`Fuzz${n}`, { severity: a.severity, fingerprint: n.toString(16) });
          p.groupLabels = { alertname: a.alertname };
          p.commonLabels = { ...p.commonLabels, ...a.extra, alertname: a.alertname, service: a.service, severity: a.severity, receiver_label: a.receiverLabel };
          p.alerts[0]!.labels = { ...p.commonLabels };
          p.commonAnnotations = { summary: a.summary, description: a.description, runbook_url: a.runbook_url, ...(a.grafana_url ? { grafana_url: a.grafana_url } : {}) };
          p.alerts[0]!.annotations = { ...p.commonAnnotations };
          p.alerts[0]!.generatorURL = a.generatorURL;
          p.externalURL = a.externalURL;
          ids.push(await h.alert(p));
        }
        expect(await h.bot.outbox.idle(30_000)).toBe(true);
        for (const id of ids) {
          const answer = await h.sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: `status ${id}` });
          const body = answer.body as Record<string, unknown>;
          expect(JSON.stringify(body)).toContain(id);
          for (const text of parsedTexts(body)) expect({ id, text, foreign: foreign(text) }).toEqual({ id, text, foreign: [] });
        }
        const messages = await allMessages();
        stats.messages = messages.length;
        for (const m of messages) {
          for (const text of parsedTexts(m)) {
            if (text.includes('&lt;')) stats.escapedSeen += 1;
            expect({ ts: m.ts, text, foreign: foreign(text) }).toEqual({ ts: m.ts, text, foreign: [] });
          }
        }
      }),
      runs(12),
    );
    // The control: messages were posted and the hostile text is in them, escaped.
    expect(stats.messages).toBeGreaterThan(12);
    expect(stats.escapedSeen).toBeGreaterThan(0);
  });

  it('the check itself catches an unescaped sequence (so the property above can fail)', () => {
    expect(foreign('hi <!channel> and <@U123> and <https://evil.test|x>')).toEqual(['<!channel>', '<@U123>', '<https://evil.test|x>']);
    expect(foreign('&lt;!channel&gt; <@U0BOB> <!date^1700000000^{date}|now> <http://vm:19090/graph|Prometheus>')).toEqual([]);
  });
});

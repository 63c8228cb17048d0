import { renderDigest } from '../../bot/slack-outbox/digest-message';
import { incidentText, renderIncidentBlocks } from '../../bot/incidents/incident-message';
import type { Incident } from '../../bot/incidents/incident-store';
import { code, link, safeUrl } from '../../lib/slack-text';
import { firingFor } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

/**
 * Mention and mrkdwn injection: label, annotation and URL values from alerts
 * and text from people reach Slack escaped. The only `<…>` sequences the bot
 * sends are its own: `<!date^…>`, `<@U…>` it means, and links to safe URLs.
 */
jest.setTimeout(60_000);

const HOSTILE = '<!channel> <!here> <http://evil.example|click> & `code` <@U0ATTACK>';

/** Every `<…>` sequence Slack would parse in a text. */
const sequences = (text: string) => text.match(/<[^>]*>/g) ?? [];

/** True when every parsed sequence is one the bot writes itself. */
function onlyOwnSequences(text: string): boolean {
  return sequences(text).every((s) => /^<!date\^/.test(s) || /^<@U[A-Z0-9]+>$/.test(s) && !s.includes('ATTACK') || /^<https?:\/\/(vm|example\.invalid)[^|<>]*\|[A-Za-z]+>$/.test(s));
}

/** All texts Slack parses in a message: fallback text, mrkdwn blocks, context elements. */
function parsedTexts(message: { text: string; blocks?: unknown[] }): string[] {
  const out = [message.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks);
  return out;
}

function hostileIncident(): Incident {
  return {
    id: 'INC-1', receiver: 'bot', groupKey: 'g', state: 'triggered', priority: 'P1', priorityRule: HOSTILE, title: HOSTILE, summary: HOSTILE,
    labels: { alertname: HOSTILE, service: HOSTILE }, generatorURL: 'http://evil.example|forged>', runbookUrl: 'javascript:alert(1)',
    externalURL: '<!channel>', grafanaUrl: 'https://grafana.example/x?a=<!here>', firing: 1, resolved: 0, version: 1,
    createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), policy: 'critical', route: 'ops-critical', owner: 'U0BOB',
  };
}

describe('slack text helpers', () => {
  it('links only http(s) URLs without | < > and escapes labels; code spans cannot be broken out of', () => {
    expect(safeUrl('https://ok.example/a?b=c')).toBe('https://ok.example/a?b=c');
    for (const bad of ['javascript:alert(1)', 'http://x|y', 'http://x>', '<http://x>', 'not a url', '']) expect(safeUrl(bad)).toBeUndefined();
    expect(link('https://ok.example', 'a|<b>')).toBe('<https://ok.example|a¦&lt;b&gt;>');
    expect(code('x` <!channel> `y')).toBe('`xˋ &lt;!channel&gt; ˋy`');
  });

  it('root message and digest builders escape every value from an alert', () => {
    const incident = hostileIncident();
    for (const text of [incidentText(incident), ...parsedTexts({ text: '', blocks: renderIncidentBlocks(incident) })]) {
      expect(onlyOwnSequences(text)).toBe(true);
    }
    const digest = renderDigest([incident], 10);
    for (const text of parsedTexts(digest)) expect(onlyOwnSequences(text)).toBe(true);
  });
});

describe('hostile alerts and notes through the real bot reach Slack escaped', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('root, edits, thread replies (transitions, ack, resolve note) carry no <! or link but the bot\'s own', async () => {
    const payload = firingFor('Injected', { severity: 'critical' });
    payload.commonAnnotations = { summary: HOSTILE, runbook_url: 'http://evil.example|Runbook>' };
    payload.externalURL = 'http://vm:19093|<!channel>';
    payload.alerts[0]!.generatorURL = 'javascript:alert(1)';
    const id = await h.alert(payload);
    const root = await h.root('ops-critical', id);

    // A second alert whose alertname tries to break out of the code span in the transition reply.
    const more = firingFor('Injected', { severity: 'critical', fingerprint: 'abc123' });
    more.alerts[0]!.labels = { ...more.alerts[0]!.labels, alertname: 'x` <!channel> `' };
    await h.alert(more);
    await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('is firing')), 10_000);

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' });
    await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('Acknowledged by')), 10_000);
    // Command answers that show the incident are escaped too.
    for (const verb of [`status ${id}`, 'incidents']) {
      const answer = JSON.stringify((await h.sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: verb })).body);
      expect(answer).toContain(id);
      expect(answer).not.toMatch(/<!channel>|<!here>|<http:\/\/evil/);
    }
    await h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `resolve ${id} ${HOSTILE}` });
    await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('Resolved by')), 10_000);
    expect(await h.bot.outbox.idle(20_000)).toBe(true);

    const messages = await h.sandbox.replies('ops-critical', root.ts);
    expect(messages.length).toBeGreaterThanOrEqual(4);
    for (const m of messages) for (const text of parsedTexts(m)) expect({ text, ok: onlyOwnSequences(text) }).toEqual({ text, ok: true });
    const all = JSON.stringify(messages);
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).not.toContain('javascript:');
    expect(all).not.toContain('evil.example|Runbook');

    const override = await h.sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: `oncall override @bob 1h ${HOSTILE}` });
    const overrideText = String((override.body as { text?: string } | undefined)?.text ?? '');
    expect(overrideText).toContain('&lt;!here&gt;');
    expect(onlyOwnSequences(overrideText.replace(/<@U[A-Z0-9]+>/g, ''))).toBe(true);
  });
});

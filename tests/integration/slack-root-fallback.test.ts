import { loadOpsConfig, type OpsConfig } from '../../lib/ops-config';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

jest.setTimeout(60_000);

/**
 * Routing sends an incident to a channel Slack refuses for good (here: one that does not exist, Slack's
 * channel_not_found). Its thread, and so its pages, must still reach people: in the fallback channel.
 */
describe('a refused incident channel falls back to channels.fallback', () => {
  let h: BotHarness;

  beforeAll(async () => {
    const base = loadOpsConfig();
    const opsConfig: OpsConfig = {
      ...base,
      channels: { ...base.channels, fallback: 'ops-alerts' },
      routing: { rules: [{ name: 'lost', match: { category: 'lost' }, channel: 'ops-gone' }, ...base.routing.rules] },
    };
    h = await startBotHarness({ deps: { opsConfig } });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('posts the root in the fallback channel; escalation pages and later replies follow it; the refusal is counted', async () => {
    const firing = firingFor('LostChannel', { severity: 'critical' });
    firing.commonLabels.category = 'lost';
    const id = await h.alert(firing);
    const root = await h.root('ops-alerts', id);

    // The P1 policy pages the on-call primary at once: in the thread people can see.
    await eventually(async () => (await h.sandbox.replies('ops-alerts', root.ts)).find((m) => m.text.startsWith('🔔')), 15_000);
    await h.alert(resolvedVersion(firing));
    await eventually(async () => (await h.sandbox.replies('ops-alerts', root.ts)).find((m) => m.text.includes('Resolved')), 15_000);

    expect(await h.bot.store.get(id)).toMatchObject({ channel: expect.stringMatching(/^C/), rootTs: root.ts });
    const refused = (await h.bot.store.timeline(id)).find((e) => e.type === 'slack_channel_refused');
    expect(refused).toMatchObject({ channel: 'ops-gone', error: 'channel_not_found' });
    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(metrics).toMatch(/slack_root_fallbacks_total\{error="channel_not_found"[^}]*\} 1/);
    expect(metrics).toMatch(/slack_outbox_refused_total\{method="chat.postMessage",error="channel_not_found"[^}]*\} 1/);
  });
});

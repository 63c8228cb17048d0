import { Queue } from 'bullmq';
import { QueueName } from '../../lib/contracts';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, WEBHOOK_TOKEN as WEBHOOK, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

describe('bot: Alertmanager webhook to Slack thread (real Redis, sandbox Slack, real Bolt)', () => {
  let h: BotHarness;
  let botUrl: string;
  let bot: BotHarness['bot'];
  let sandbox: BotHarness['sandbox'];
  let redis: BotHarness['redis'];
  let prefix: string;

  beforeAll(async () => {
    h = await startBotHarness();
    ({ botUrl, bot, sandbox, redis, prefix } = h);
  });

  afterAll(async () => {
    await h.close();
  });

  const post = (body: unknown, token: string | null = WEBHOOK, raw?: string) =>
    fetch(`${botUrl}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: raw ?? JSON.stringify(body),
    });

  it('refuses a request without the token (401) and changes nothing', async () => {
    const res = await post(firingFor('NoToken'), null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await post(firingFor('NoToken'), 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(await bot.store.openIds()).toHaveLength(0);
  });

  it('refuses a malformed body with 400 and the reason, and changes nothing', async () => {
    const badJson = await post(undefined, WEBHOOK, '{"version": "4",');
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: string }).error).toBe('invalid_json');
    const body = firingFor('Bad') as unknown as Record<string, unknown>;
    delete body.groupKey;
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/groupKey/);
    expect(await bot.store.openIds()).toHaveLength(0);
  });

  it('posts a P1 root message in #ops-critical, updates it on repeats, and marks it resolved', async () => {
    const firing = firingFor('ServiceDown', { severity: 'critical' });
    const res = await post(firing);
    expect(res.status).toBe(200);
    const { incident } = (await res.json()) as { incident: string };

    const root = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(incident)));
    expect(root.text).toContain('[P1] ServiceDown');
    expect(JSON.stringify(root.blocks)).toContain('runbook_health_check');

    // The same webhook again (Alertmanager's repeat): still one root message.
    expect((await post(firing)).status).toBe(200);
    expect((await post(firing)).status).toBe(200);
    await bot.notifier.drain();
    const roots = (await sandbox.history('ops-critical')).filter((m) => m.text.includes(incident));
    expect(roots).toHaveLength(1);

    await post(resolvedVersion(firing));
    const resolved = await eventually(async () => {
      const m = (await sandbox.history('ops-critical')).find((x) => x.ts === root.ts);
      return m?.text.includes('resolved') ? m : undefined;
    });
    expect(JSON.stringify(resolved.blocks)).toContain('Resolved');
    const thread = await sandbox.replies('ops-critical', root.ts);
    expect(thread.some((m) => m.text.includes('Resolved'))).toBe(true);
  });

  it("serves the runbooks the alert rules link to (runbook_url)", async () => {
    const res = await fetch(`${botUrl}/runbooks/HighErrorRate.yaml`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^alert: HighErrorRate$/m);
    expect((await fetch(`${botUrl}/runbooks/..%2Fpackage.json`)).status).toBe(404);
  });

  it('links the root message to its source, runbook, Grafana and a silence', async () => {
    const body = firingFor('Linked', { severity: 'warning' });
    body.commonAnnotations = { ...body.commonAnnotations, grafana_url: 'http://grafana.example/d/abc' };
    const root = await h.root('ops-alerts', await h.alert(body));
    const context = JSON.stringify(root.blocks);
    expect(context).toContain('|Source>');
    expect(context).toContain('runbooks/HighErrorRate|Runbook>');
    expect(context).toContain('<http://grafana.example/d/abc|Grafana>');
    expect(context).toContain('/#/silences/new?filter=');
  });

  it('routes warning alerts to #ops-alerts', async () => {
    const res = await post(firingFor('HighMemoryUsage', { severity: 'warning' }));
    const { incident } = (await res.json()) as { incident: string };
    const root = await eventually(async () => (await sandbox.history('ops-alerts')).find((m) => m.text.includes(incident)));
    expect(root.text).toContain('[P3]');
  });

  it('a click on the health-check button enqueues a runbook job and says so in the thread', async () => {
    const res = await post(firingFor('CircuitBreakerOpen', { severity: 'high' }));
    const { incident } = (await res.json()) as { incident: string };
    const root = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(incident)));

    const click = await sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check' });
    expect(click).toMatchObject({ ok: true, status: 200 });

    const queue = new Queue(QueueName.RunbookActions, { connection: redis, prefix });
    const job = await eventually(async () => (await queue.getJobs(['waiting', 'active', 'delayed'])).find((j) => j.data.incidentId === incident));
    expect(job.data).toMatchObject({ action: 'health_check', reply: { threadTs: root.ts } });
    expect(job.data.requestedBy).toMatch(/^U/);
    await queue.close();
    const thread = await eventually(async () => {
      const msgs = await sandbox.replies('ops-critical', root.ts);
      return msgs.find((m) => m.text.includes('asked for a health check'));
    });
    expect(thread.thread_ts).toBe(root.ts);
  });
});

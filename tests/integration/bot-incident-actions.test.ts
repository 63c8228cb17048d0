import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAlertmanager, type ToolProcess } from '../../monitoring/processes';
import { firingFor } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

jest.setTimeout(60_000);

describe('incident actions from buttons and /ops (real Bolt, sandbox Slack, real Alertmanager for snoozes)', () => {
  let h: BotHarness;
  let am: ToolProcess;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-snooze-'));
    const config = path.join(dir, 'alertmanager.yml');
    fs.writeFileSync(config, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    am = await startAlertmanager({ configFile: config, dataDir: dir });
    // A verb slower than Slack's 3 s ack window, to check the router's deferred answer.
    const slow = { name: 'slowpoke', usage: '/ops slowpoke', summary: 'test only', run: async () => {
      await new Promise((r) => setTimeout(r, 2800));
      return { text: 'done slowly', response_type: 'ephemeral' as const };
    } };
    h = await startBotHarness({ env: { ALERTMANAGER_URL: am.url }, deps: { extraVerbs: [slow] } });
  });

  afterAll(async () => {
    await h?.close();
    await am?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const thread = (ts: string) => h.sandbox.replies('ops-critical', ts);

  it('acknowledge by button: state, owner, one reply that does not ping the person who acted', async () => {
    const id = await h.alert(firingFor('AckByButton', { severity: 'critical' }));
    const root = await h.root('ops-critical', id);
    const click = await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' });
    expect(click.ok).toBe(true);
    const incident = await eventually(async () => {
      const i = await h.bot.store.get(id);
      return i?.state === 'acknowledged' ? i : undefined;
    });
    expect(incident.owner).toMatch(/^U/);
    const reply = await eventually(async () => (await thread(root.ts)).find((m) => m.text.includes('Acknowledged by')));
    expect(reply.text).toContain('bob');
    expect(reply.text).not.toContain(`<@${incident.owner}>`);
    const updated = await eventually(async () => (await h.sandbox.history('ops-critical')).find((m) => m.ts === root.ts && m.text.includes('acknowledged')));
    expect(JSON.stringify(updated.blocks)).toContain('incident_unack');
    const types = (await h.bot.store.timeline(id)).map((e) => e.type);
    expect(types).toContain('acknowledged');
  });

  it('RBAC: a viewer cannot acknowledge; nothing changes', async () => {
    const id = await h.alert(firingFor('ViewerTries', { severity: 'critical' }));
    const root = await h.root('ops-critical', id);
    await h.sandbox.click({ user: 'carol', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' });
    const denial = await eventually(async () => (await h.sandbox.ephemeral({ user: 'carol' })).find((m) => String(m.text).includes('may not')));
    expect(denial).toBeDefined();
    expect((await h.bot.store.get(id))?.state).toBe('triggered');
    const cmd = await h.sandbox.command({ user: 'carol', channel: 'ops-critical', command: '/ops', text: `ack ${id}` });
    expect(JSON.stringify(cmd.body)).toContain('may not run');
    expect(JSON.stringify(cmd.body)).toContain('needs the role admin or responder (you are viewer)');
    expect((await h.bot.store.get(id))?.state).toBe('triggered');
    // Both refusals are in the audit, by Slack user id.
    const refusals = (await h.bot.audit.read()).filter((e) => e.kind === 'refusal' && e.actor === 'U0CAROL');
    expect(refusals.map((e) => e.detail?.command)).toEqual(['ack', 'ack']);
    expect(refusals[0]).toMatchObject({ incidentId: id, outcome: 'refused' });
  });

  it('snooze creates a real Alertmanager silence; unsnooze expires it', async () => {
    const id = await h.alert(firingFor('SnoozeMe', { severity: 'critical' }));
    const root = await h.root('ops-critical', id);
    await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: root.ts, action_id: 'incident_snooze', value: `${id}|1h` });
    const snoozed = await eventually(async () => {
      const i = await h.bot.store.get(id);
      return i?.state === 'snoozed' ? i : undefined;
    });
    expect(snoozed.silenceId).toBeTruthy();
    const silence = (await (await fetch(`${am.url}/api/v2/silence/${snoozed.silenceId}`)).json()) as { status: { state: string }; matchers: Array<{ name: string; value: string }> };
    expect(silence.status.state).toBe('active');
    expect(silence.matchers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'alertname', value: 'SnoozeMe' })]));

    const cmd = await h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `unsnooze ${id}` });
    expect(JSON.stringify(cmd.body)).toContain('awake');
    expect((await h.bot.store.get(id))?.state).toBe('triggered');
    const after = (await (await fetch(`${am.url}/api/v2/silence/${snoozed.silenceId}`)).json()) as { status: { state: string } };
    expect(after.status.state).toBe('expired');
  });

  it('/ops reclassify, resolve and incidents; bad input is a clear error and changes nothing', async () => {
    const id = await h.alert(firingFor('Reclassify', { severity: 'warning' }));
    const root = await h.root('ops-alerts', id);
    const bad = await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: `reclassify ${id} P9` });
    expect(JSON.stringify(bad.body)).toContain('Which priority');
    expect((await h.bot.store.get(id))?.priority).toBe('P3');

    await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: `reclassify ${id} p2` });
    const i = await h.bot.store.get(id);
    expect(i).toMatchObject({ priority: 'P2', policy: 'high' });
    expect(i?.priorityRule).toContain('reclassified by bob');

    const list = await h.sandbox.command({ user: 'carol', channel: 'ops-alerts', command: '/ops', text: 'incidents' });
    expect(JSON.stringify(list.body)).toContain(id);

    const resolved = await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: `resolve ${id} fixed the pool` });
    expect(JSON.stringify(resolved.body)).toContain('resolved');
    expect((await h.bot.store.get(id))?.state).toBe('resolved');
    const again = await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: `resolve ${id}` });
    expect(JSON.stringify(again.body)).toContain('E_CONFLICT');
    await eventually(async () => (await h.sandbox.replies('ops-alerts', root.ts)).find((m) => m.text.includes('fixed the pool')));
  });

  it('/ops oncall shows the rota; an override is RBAC-checked and then shown', async () => {
    const rota = JSON.stringify((await h.sandbox.command({ user: 'carol', channel: 'ops-alerts', command: '/ops', text: 'oncall' })).body);
    expect(rota).toMatch(/alice|bob/);
    const refused = JSON.stringify((await h.sandbox.command({ user: 'carol', channel: 'ops-alerts', command: '/ops', text: 'oncall override @bob 2h' })).body);
    expect(refused).toContain('may not run');
    const bad = JSON.stringify((await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: 'oncall override @bob forever' })).body);
    expect(bad).toContain('E_VALIDATION_FAILED');
    // A viewer cannot be put on call: they could not acknowledge what pages them.
    const viewer = JSON.stringify((await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: 'oncall override @carol 2h covering' })).body);
    expect(viewer).toContain('carol is a viewer, who cannot acknowledge');
    const ok = JSON.stringify((await h.sandbox.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: 'oncall override @alice 2h covering' })).body);
    expect(ok).toContain('alice');
    const after = JSON.stringify((await h.sandbox.command({ user: 'alice', channel: 'ops-alerts', command: '/ops', text: 'oncall' })).body);
    expect(after).toContain('covering');
  });

  it('a slow command is acked within Slack\'s 3 s and answers through response_url', async () => {
    const res = await h.sandbox.command({ user: 'alice', channel: 'ops-alerts', command: '/ops', text: 'slowpoke' });
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect(JSON.stringify(res.body)).toContain('Working on');
    const answer = await eventually(async () => (await h.sandbox.ephemeral({ user: 'alice' })).find((m) => String(m.text).includes('done slowly')), 5000);
    expect(answer).toBeDefined();
  });

  it('/ops help lists only what the caller may run', async () => {
    const viewer = JSON.stringify((await h.sandbox.command({ user: 'carol', channel: 'ops-alerts', command: '/ops', text: 'help' })).body);
    const admin = JSON.stringify((await h.sandbox.command({ user: 'alice', channel: 'ops-alerts', command: '/ops', text: 'help' })).body);
    expect(viewer).toContain('/ops incidents');
    expect(viewer).not.toContain('/ops ack');
    expect(admin).toContain('/ops ack');
    expect(admin).toContain('/ops run health_check');
  });
});

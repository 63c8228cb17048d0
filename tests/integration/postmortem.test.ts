/**
 * The post-mortem of an incident driven through the sandbox Slack on the real
 * bot (Bolt, Redis, BullMQ escalation on a compressed clock): alert, escalation
 * steps, acknowledge by button, /ops note, a :pushpin: reaction, the "Add to
 * timeline" shortcut, resolve by Alertmanager; then the export: files in the
 * thread, the HTTP API, `npm run postmortem`, and the JSON validated against
 * the committed schema.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Postmortem } from '../../bot/postmortem/postmortem';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { alertmanagerFixture, resolvedVersion } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';

jest.setTimeout(90_000);

const API_TOKEN = 'test-bot-api-token-0123456789';
const root = path.resolve(__dirname, '../..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'docs/postmortem.schema.json'), 'utf8'));

describe('post-mortem export of an incident driven through the sandbox', () => {
  let h: BotHarness;
  let incidentId: string;
  let rootTs: string;
  let channel: string;

  beforeAll(async () => {
    // 0.002: the high policy's 15 min step fires after 1.8 s.
    h = await startBotHarness({ env: { ESCALATION_TIME_SCALE: '0.002', BOT_API_TOKEN: API_TOKEN } });
  });
  afterAll(async () => h?.close());

  const api = (p: string, token: string | null = API_TOKEN) => fetch(`${h.botUrl}${p}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const replies = () => h.sandbox.replies(channel, rootTs);

  it('records alerts, escalation, ack, notes, pins and resolve on the timeline', async () => {
    const firing = alertmanagerFixture('high-error-rate.firing');
    incidentId = await h.alert(firing);
    rootTs = (await h.root('ops-critical', incidentId)).ts;
    channel = await h.sandbox.findChannelId('ops-critical');
    // Two escalation steps (0 min and 15 min scaled) before anyone acknowledges.
    await eventually(async () => (await h.bot.store.timeline(incidentId)).filter((e) => e.type === 'escalation_step').length >= 2 || undefined, 30_000, 100);

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: rootTs, action_id: 'incident_ack' });
    await eventually(async () => (await h.bot.store.get(incidentId))?.state === 'acknowledged' || undefined);

    const note = await h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `note ${incidentId} Rolled back v1.4.2; error rate <1% since 10:42 | not yet 100%` });
    expect(JSON.stringify(note.body)).toContain('Noted');

    // alice pins the "acknowledged" reply; pinning it twice adds it once.
    const ackReply = await eventually(async () => (await replies()).find((m) => /acknowledged/i.test(m.text) && m.ts !== rootTs));
    expect((await h.sandbox.react({ user: 'alice', channel: 'ops-critical', ts: ackReply.ts, name: 'pushpin' })).ok).toBe(true);
    await eventually(async () => (await h.bot.store.timeline(incidentId)).some((e) => e.type === 'note' && e.source === 'pushpin') || undefined);
    await h.sandbox.react({ user: 'bob', channel: 'ops-critical', ts: ackReply.ts, name: 'pushpin' });
    // Another reaction is not a pin.
    await h.sandbox.react({ user: 'bob', channel: 'ops-critical', ts: rootTs, name: 'eyes' });

    // carol adds the root message with the message shortcut.
    const shortcut = await h.sandbox.shortcut({ user: 'carol', channel: 'ops-critical', ts: rootTs, callback_id: 'add_to_timeline' });
    expect(shortcut.ok).toBe(true);
    await eventually(async () => (await h.sandbox.ephemeral({ user: 'carol' })).find((m) => String(m.text).includes(`Added to ${incidentId}'s timeline`)));

    await h.alert(resolvedVersion(firing));
    await eventually(async () => (await h.bot.store.get(incidentId))?.state === 'resolved' || undefined);

    const timeline = await h.bot.store.timeline(incidentId);
    const notes = timeline.filter((e) => e.type === 'note');
    expect(notes.map((n) => n.source).sort()).toEqual(['command', 'pushpin', 'shortcut']);
    const pinned = notes.find((n) => n.source === 'pushpin')!;
    expect(pinned.addedBy).toBe('U0ALICE');
    // A pinned message keeps the time it was written, not the time it was pinned.
    expect(pinned.at).toBe(new Date(Math.round(Number(ackReply.ts) * 1000)).toISOString());
  });

  it('exports Markdown and JSON into the thread; the JSON follows the schema and has the figures', async () => {
    const res = await h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `postmortem ${incidentId}` });
    expect(JSON.stringify(res.body)).toContain('on its way');
    const files = await eventually(async () => {
      const f = (await replies()).flatMap((m) => (m.files as Array<{ name: string; url_private: string }> | undefined) ?? []);
      return f.length >= 2 ? f : undefined;
    }, 30_000);
    expect(files.map((f) => f.name).sort()).toEqual([`${incidentId}-postmortem.json`, `${incidentId}-postmortem.md`]);
    const uploaded = JSON.parse(await (await fetch(files.find((f) => f.name.endsWith('.json'))!.url_private)).text()) as Postmortem;

    const validate = addFormats(new Ajv({ allErrors: true })).compile(schema);
    expect(validate(uploaded) ? [] : validate.errors).toEqual([]);

    const incident = (await h.bot.store.get(incidentId))!;
    expect(uploaded.incident).toMatchObject({ id: incidentId, state: 'resolved', priority: incident.priority });
    expect(uploaded.impact).toMatchObject({ alertCount: 1, priority: incident.priority, endedAt: incident.resolvedAt });
    expect(uploaded.impact.durationSeconds).toBe(Math.round((Date.parse(incident.resolvedAt!) - Date.parse(uploaded.impact.startedAt)) / 1000));
    expect(uploaded.detection.firstAlert?.alertname).toBe('HighErrorRate');
    expect(uploaded.response).toMatchObject({
      responseTime: '1h',
      acknowledgedBy: 'U0BOB',
      acknowledgedWithinTarget: true,
      timeToAcknowledgeSeconds: Math.round((Date.parse(incident.acknowledgedAt!) - Date.parse(incident.createdAt)) / 1000),
      resolvedBy: 'alertmanager',
    });
    expect(uploaded.response.escalationSteps.length).toBeGreaterThanOrEqual(2);
    expect(uploaded.notes.map((n) => n.source).sort()).toEqual(['command', 'pushpin', 'shortcut']);
    expect(uploaded.notes.find((n) => n.source === 'command')!.text).toBe('Rolled back v1.4.2; error rate <1% since 10:42 | not yet 100%');
    expect(uploaded.timeline.map((t) => t.type)).toEqual(expect.arrayContaining(['opened', 'escalation_step', 'acknowledged', 'note', 'resolved']));
    // The audit extract: the export itself is audited, and its chain entries carry hashes.
    expect(uploaded.audit.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);

    const md = await (await fetch(files.find((f) => f.name.endsWith('.md'))!.url_private)).text();
    for (const heading of ['## Summary', '## Impact', '## Detection', '## Response', '## Timeline', '## Actions taken', '## Audit extract', '## What went well', '## What went wrong', '## Action items']) {
      expect(md).toContain(heading);
    }
    // A pipe in a note cannot break the timeline table.
    expect(md).toContain('error rate <1% since 10:42 \\| not yet 100%');
  });

  it('serves the export over HTTP behind BOT_API_TOKEN, and a new export after another note is updated', async () => {
    expect((await api(`/incidents/${incidentId}/postmortem.json`, null)).status).toBe(401);
    expect((await api(`/incidents/${incidentId}/postmortem.json`, 'wrong-token-0123456789')).status).toBe(401);
    expect((await api('/incidents/INC-999999/postmortem.json')).status).toBe(404);
    expect((await api(`/incidents/${incidentId}/postmortem.pdf`)).status).toBe(400);
    const before = (await (await api(`/incidents/${incidentId}/postmortem.json`)).json()) as Postmortem;

    await h.sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: `note ${incidentId} Action: add a canary stage` });
    const after = (await (await api(`/incidents/${incidentId}/postmortem.json`)).json()) as Postmortem;
    expect(after.notes).toHaveLength(before.notes.length + 1);
    const md = await (await api(`/incidents/${incidentId}/postmortem.md`)).text();
    expect(md).toContain('Action: add a canary stage');

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: rootTs, action_id: 'incident_postmortem', value: incidentId });
    await eventually(async () => ((await replies()).flatMap((m) => (m.files as unknown[] | undefined) ?? []).length >= 4 ? true : undefined), 30_000);
  });

  it('npm run postmortem prints it from the bot API', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/postmortem.ts', incidentId], {
      cwd: root,
      env: { PATH: process.env.PATH, BOT_URL: h.botUrl, BOT_API_TOKEN: API_TOKEN },
    });
    expect(stdout).toContain(`# Post-mortem: ${incidentId}`);
    const missing = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/postmortem.ts', 'INC-999999'], {
      cwd: root,
      env: { PATH: process.env.PATH, BOT_URL: h.botUrl, BOT_API_TOKEN: API_TOKEN },
    }).catch((err: { code: number; stderr: string }) => err);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('404') });
  });
});

import fc from 'fast-check';
import { slackSignature } from '../../lib/slack-signature';
import { firingFor } from '../helpers/fixtures';
import { startBotHarness, SIGNING_SECRET, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { runs } from './fuzz';
import { snapshotPrefix } from './redis-snapshot';

/**
 * Requests at the bot's /slack/events that must not act: forged signatures,
 * timestamps past the 5-minute window either way, replays of a request that
 * already acted, a viewer's clicks and commands, button values pointing at an
 * incident that does not exist or a runbook action of another incident. Each
 * is refused (401, or an ephemeral refusal) and changes nothing in Redis, the
 * audit and BullMQ's queues included (all live under the bot's prefix), and
 * makes no Slack call; a viewer's refusal or a tampered click adds exactly
 * its audit entry (and the replay guard's marker of a genuine request).
 */
jest.setTimeout(120_000);

let h: BotHarness;
let incidentA: string;
let rootA: { ts: string; blocks?: unknown[] };
let incidentB: string;
const housekeeping = (key: string) => key.endsWith(':stalled-check');
const snapshot = () => snapshotPrefix(h.redis, h.prefix, housekeeping);
/** The replay guard's marker: written for every genuine request let through, the refused ones included. */
const isReplayMarker = (key: string) => key.startsWith(`${h.prefix}:slack:seen:`);
const nowS = () => Math.floor(Date.now() / 1000);

/** The action ids of a message's buttons (selects need one of their options, so they are left out). */
function actionIds(blocks: unknown[] | undefined): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.action_id === 'string' && o.type === 'button') out.push(o.action_id);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

beforeAll(async () => {
  // No escalation timers: nothing may write to Redis on its own while we compare snapshots.
  h = await startBotHarness({ deps: { escalation: false } });
  incidentA = await h.alert(firingFor('SigA', { severity: 'critical', fingerprint: 'a1' }));
  incidentB = await h.alert(firingFor('SigB', { severity: 'critical', fingerprint: 'b2' }));
  rootA = await h.root('ops-critical', incidentA);
  await h.root('ops-critical', incidentB);
  expect(await h.bot.outbox.idle(20_000)).toBe(true);
});
afterAll(async () => {
  await h?.close();
});

const commandBody = (text: string, user = 'U0BOB', trigger = `${Date.now()}.1.abc`) =>
  new URLSearchParams({
    team_id: 'T0SANDBOX', channel_id: 'C0OPSCRIT', channel_name: 'ops-critical', user_id: user, user_name: 'bob', command: '/ops', text,
    api_app_id: 'A0OPSBOT', response_url: 'http://127.0.0.1:9/respond', trigger_id: trigger,
  }).toString();
const clickBody = (actionId: string, value: string, ts: string, user = 'U0BOB') =>
  `payload=${encodeURIComponent(JSON.stringify({
    type: 'block_actions', team: { id: 'T0SANDBOX' }, api_app_id: 'A0OPSBOT', user: { id: user, username: 'bob', name: 'bob' },
    container: { type: 'message', channel_id: 'C0OPSCRIT', message_ts: ts }, channel: { id: 'C0OPSCRIT', name: 'ops-critical' },
    trigger_id: `${Date.now()}.2.def`, response_url: 'http://127.0.0.1:9/respond',
    actions: [{ type: 'button', action_id: actionId, block_id: 'incident-actions', value, action_ts: '1.1' }],
  }))}`;

async function send(body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${h.botUrl}/slack/events`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body });
}

/** Bodies that would act if they were genuine: commands and clicks of a responder on incident A. */
const actingBody = fc.oneof(
  fc.constantFrom('ack', 'resolve', 'snooze 1h', 'note forged note', 'reclassify P4', 'oncall override @bob 1h').map((v) => commandBody(v.startsWith('note') || v.startsWith('oncall') ? v : `${v.split(' ')[0]} ${incidentA} ${v.split(' ').slice(1).join(' ')}`.trim())),
  fc.constantFrom('incident_ack', 'incident_resolve').map((a) => clickBody(a, incidentA, '')),
);

/** Slack calls that write (reads such as auth.test or users.info are Bolt's and the access check's own business). */
async function slackWrites(): Promise<Record<string, number>> {
  const { calls } = await h.sandbox.stats();
  return Object.fromEntries(Object.entries(calls).filter(([m]) => /^(chat|reactions|files|views|pins|conversations\.(create|invite|setTopic))\./.test(m)).map(([m, c]) => [m, c.total]));
}

/** Waits until the outbox is idle and Redis holds still for a moment: the original request's effects are all in. */
async function settled(): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    expect(await h.bot.outbox.idle(20_000)).toBe(true);
    const a = JSON.stringify(await snapshot());
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.bot.outbox.idle(20_000)).toBe(true);
    if (JSON.stringify(await snapshot()) === a) return;
  }
  throw new Error('Redis did not settle');
}

async function unchanged(run: () => Promise<void>): Promise<void> {
  expect(await h.bot.outbox.idle(20_000)).toBe(true);
  const before = await snapshot();
  const writes = await slackWrites();
  await run();
  expect(await h.bot.outbox.idle(20_000)).toBe(true);
  expect(await snapshot()).toEqual(before);
  expect(await slackWrites()).toEqual(writes);
}

describe('forged, stale and future requests are refused 401 and change nothing', () => {
  it('a random signature (right shape or not) over a body that would act', async () => {
    const signature = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `v0=${hex}`),
      fc.string({ maxLength: 80 }),
      fc.constantFrom('', 'v0=', 'v1=' + '0'.repeat(64), slackSignature('wrong-secret', nowS(), 'x')),
    );
    await fc.assert(
      fc.asyncProperty(actingBody, signature, async (body, sig) => {
        await unchanged(async () => {
          const res = await send(body.replace('message_ts%22%3A%22%22', `message_ts%22%3A%22${rootA.ts}%22`), { 'X-Slack-Request-Timestamp': String(nowS()), 'X-Slack-Signature': sig });
          expect(res.status).toBe(401);
        });
      }),
      runs(60),
    );
  });

  it('a valid signature over another body, or with the body changed after signing', async () => {
    await fc.assert(
      fc.asyncProperty(actingBody, fc.string({ minLength: 1, maxLength: 5 }), async (body, extra) => {
        await unchanged(async () => {
          const ts = nowS();
          const res = await send(`${body}${encodeURIComponent(extra)}`, { 'X-Slack-Request-Timestamp': String(ts), 'X-Slack-Signature': slackSignature(SIGNING_SECRET, ts, body) });
          expect(res.status).toBe(401);
        });
      }),
      runs(30),
    );
  });

  it('a correctly signed request whose timestamp is more than 5 minutes behind or ahead, or not a number', async () => {
    const stamp = fc.oneof(
      fc.integer({ min: 310, max: 86_400 * 365 }).map((d) => String(nowS() - d)),
      fc.integer({ min: 310, max: 86_400 * 365 }).map((d) => String(nowS() + d)),
      fc.constantFrom('', 'now', '1e20', '-1', '0', 'NaN', ' '),
    );
    await fc.assert(
      fc.asyncProperty(actingBody, stamp, async (body, ts) => {
        await unchanged(async () => {
          const res = await send(body, { 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': slackSignature(SIGNING_SECRET, ts, body) });
          expect(res.status).toBe(401);
        });
      }),
      runs(60),
    );
  });
});

describe('genuine requests that must not act', () => {
  it('a replay (same body, signature and timestamp, no X-Slack-Retry-Num) of a request that acted is refused 401 and does not act again', async () => {
    // Each run opens its own incident, acts on it once, then replays the identical request. Few runs: past
    // 10 new incidents a minute in one channel the bot posts a storm digest instead of root messages.
    let n = 0;
    // Every kind once (the random part is how many times it is replayed): each of them acted twice before the guard.
    const KINDS = ['command ack', 'click ack', 'command resolve', 'click resolve', 'command note', 'command override'];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), async (replays) => {
        const w = KINDS[n % KINDS.length]!;
        n += 1;
        const id = await h.alert(firingFor(`Replay${n}`, { severity: 'critical', fingerprint: (0xc000 + n).toString(16) }));
        const root = await h.root('ops-critical', id);
        expect(await h.bot.outbox.idle(20_000)).toBe(true);
        const [how, verb] = w.split(' ') as ['command' | 'click', string];
        const text = verb === 'note' ? `note ${id} replayed note ${n}` : verb === 'override' ? `oncall override @bob 1h replay ${n}` : `${verb} ${id}`;
        const body = how === 'command' ? commandBody(text, 'U0BOB', `${Date.now()}.${n}.abc`) : clickBody(`incident_${verb}`, id, root.ts);
        const ts = nowS();
        const headers = { 'X-Slack-Request-Timestamp': String(ts), 'X-Slack-Signature': slackSignature(SIGNING_SECRET, ts, body) };
        const before = await snapshot();
        expect((await send(body, headers)).status).toBe(200);
        // The original acted: something under the prefix moved.
        await eventually(async () => JSON.stringify(await snapshot()) !== JSON.stringify(before), 10_000);
        if (verb === 'ack' || verb === 'resolve') await eventually(async () => (await h.bot.store.get(id))?.state === (verb === 'ack' ? 'acknowledged' : 'resolved'), 10_000);
        await settled();
        await unchanged(async () => {
          for (let i = 0; i < replays; i += 1) {
            const res = await send(body, headers);
            expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 401, body: { ok: false, error: 'replayed' } });
          }
        });
      }),
      runs(6),
    );
  });

  it('carol (viewer) clicking or typing anything that changes an incident: an ephemeral refusal and only its audit entry', async () => {
    const verb = fc.constantFrom('ack', 'unack', 'resolve', 'snooze', 'unsnooze', 'reclassify');
    await fc.assert(
      fc.asyncProperty(verb, fc.boolean(), async (v, byClick) => {
        expect(await h.bot.outbox.idle(20_000)).toBe(true);
        const before = await snapshot();
        let reply: string;
        if (byClick && actionIds(rootA.blocks).includes(`incident_${v}`)) {
          const res = await h.sandbox.click({ user: 'carol', channel: 'ops-critical', ts: rootA.ts, action_id: `incident_${v}` });
          expect(res.ok).toBe(true);
          reply = (await eventually(async () => (await h.sandbox.ephemeral({ user: 'U0CAROL' })).at(-1), 5000)).text;
        } else {
          const res = await h.sandbox.command({ user: 'carol', channel: 'ops-critical', command: '/ops', text: `${v} ${incidentA} ${v === 'snooze' ? '1h' : v === 'reclassify' ? 'P4' : ''}` });
          expect(res.ok).toBe(true);
          reply = String((res.body as { text?: string }).text);
        }
        expect(reply).toMatch(/^You may not/);
        const after = await snapshot();
        const changed = Object.keys({ ...before, ...after }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        expect(changed.filter((k) => !k.startsWith(`${h.prefix}:audit:ops`) && !isReplayMarker(k))).toEqual([]);
        expect((await h.bot.store.get(incidentA))?.state).toBe('triggered');
      }),
      runs(20),
    );
  });

  it('tampered button values: another incident, one that does not exist, no incident id, or a runbook button of another incident', async () => {
    const runbookButtons = actionIds(rootA.blocks).filter((a) => !a.startsWith('incident_'));
    const incidentButtons = actionIds(rootA.blocks).filter((a) => a.startsWith('incident_'));
    expect(incidentButtons.length).toBeGreaterThan(0);
    const tamper = fc.oneof(
      fc.tuple(fc.constantFrom(...incidentButtons), fc.oneof(fc.constant(incidentB), fc.integer({ min: 1000, max: 1e9 }).map((k) => `INC-${k}`), fc.string({ maxLength: 20 }).filter((s) => !/^INC-\d+/.test(s)), fc.constantFrom('INC-', 'INC-1x', ' INC-1', 'INC-1 ', '|', '__proto__'))),
      ...(runbookButtons.length ? [fc.tuple(fc.constantFrom(...runbookButtons), fc.constantFrom(incidentB, 'INC-999999', 'garbage', ''))] : []),
    );
    await fc.assert(
      fc.asyncProperty(tamper, async ([actionId, value]) => {
        expect(await h.bot.outbox.idle(20_000)).toBe(true);
        const before = await snapshot();
        const eph = (await h.sandbox.ephemeral({ user: 'U0BOB' })).length;
        const res = await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: rootA.ts, action_id: actionId, value });
        expect(res.ok).toBe(true);
        const reply = await eventually(async () => (await h.sandbox.ephemeral({ user: 'U0BOB' })).slice(eph)[0], 5000);
        expect(reply.text).toMatch(/does not exist|not found|carries no|does not belong|Nothing ran|unknown/i);
        expect(await h.bot.outbox.idle(20_000)).toBe(true);
        const after = await snapshot();
        const changed = Object.keys({ ...before, ...after }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
        // A refused runbook click is audited as a refusal; nothing else may move (no job, no lock, no state).
        expect(changed.filter((k) => !k.startsWith(`${h.prefix}:audit:ops`) && !isReplayMarker(k))).toEqual([]);
        expect((await h.bot.store.get(incidentA))?.state).toBe('triggered');
        expect((await h.bot.store.get(incidentB))?.state).toBe('triggered');
      }),
      runs(30),
    );
  });
});

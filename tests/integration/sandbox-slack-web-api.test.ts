import { ErrorCode, WebClient, type WebAPIPlatformError } from '@slack/web-api';
import { createSlackSandbox, type SlackSandbox } from '../../sandbox/slack';

/**
 * The sandbox's Web API against the real @slack/web-api WebClient: what the
 * bot sends (form bodies with JSON-encoded blocks) and what it reads back must
 * have Slack's shapes and error codes.
 */
const TOKEN = 'xoxb-sandbox-web-api-test';

async function slackError(p: Promise<unknown>): Promise<WebAPIPlatformError['data']> {
  try {
    await p;
  } catch (err) {
    const e = err as WebAPIPlatformError;
    expect(e.code).toBe(ErrorCode.PlatformError);
    return e.data;
  }
  throw new Error('expected the call to fail');
}

const button = (action_id: string, text = 'Go', value = 'v') => ({ type: 'button', action_id, text: { type: 'plain_text', text }, value });

describe('sandbox slack Web API with the real WebClient', () => {
  let sandbox: SlackSandbox;
  let url: string;
  let web: WebClient;

  beforeAll(async () => {
    sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: 'web-api-test-signing-secret-000', requestUrl: 'http://127.0.0.1:9/slack/events', rateLimits: false });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
  });
  afterAll(() => sandbox.stop());
  beforeEach(() => sandbox.reset());

  it('auth.test reports the app, its bot user and the workspace', async () => {
    const res = await web.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: 'U0OPSBOT', bot_id: 'B0OPSBOT', team_id: 'T0SANDBOX', user: 'opsbot' });
    expect(res.url).toBe(`${url}/`);
  });

  it('refuses a missing token with not_authed and a wrong one with invalid_auth', async () => {
    const raw = await fetch(`${url}/api/auth.test`, { method: 'POST' });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ ok: false, error: 'not_authed' });
    const wrong = new WebClient('xoxb-wrong', { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
    expect(await slackError(wrong.chat.postMessage({ channel: 'ops-critical', text: 'x' }))).toMatchObject({ ok: false, error: 'invalid_auth' });
    // The token may also come as a form field, as older clients send it.
    const viaField = await fetch(`${url}/api/auth.test`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    expect(await viaField.json()).toMatchObject({ ok: true, user_id: 'U0OPSBOT' });
  });

  it('posts by id, by name and by #name, with increasing unique ts and the message echoed', async () => {
    const a = await web.chat.postMessage({ channel: 'C0OPSCRIT', text: 'one' });
    const b = await web.chat.postMessage({ channel: 'ops-critical', text: 'two' });
    const c = await web.chat.postMessage({ channel: '#ops-critical', text: 'three' });
    for (const r of [a, b, c]) {
      expect(r.channel).toBe('C0OPSCRIT');
      expect(r.ts).toMatch(/^\d{10}\.\d{6}$/);
      expect(r.message).toMatchObject({ type: 'message', text: expect.any(String), user: 'U0OPSBOT', bot_id: 'B0OPSBOT', ts: r.ts });
    }
    expect(Number(a.ts) < Number(b.ts) && Number(b.ts) < Number(c.ts)).toBe(true);
    const history = await web.conversations.history({ channel: 'C0OPSCRIT' });
    expect(history.messages!.map((m) => m.text)).toEqual(['three', 'two', 'one']);
    expect(history).toMatchObject({ ok: true, has_more: false });
  });

  it('accepts JSON bodies with a bearer token as well as form bodies', async () => {
    const res = await fetch(`${url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'ops-alerts', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    const body = (await res.json()) as { ok: boolean; channel: string; message: { blocks: unknown[] } };
    expect(body).toMatchObject({ ok: true, channel: 'C0OPSALRT' });
    expect(body.message.blocks).toHaveLength(1);
  });

  it('keeps threads: replies carry thread_ts, the parent gets reply_count, reply_users and latest_reply', async () => {
    const parent = await web.chat.postMessage({ channel: 'ops-critical', text: 'INC-1 opened' });
    const r1 = await web.chat.postMessage({ channel: 'ops-critical', thread_ts: parent.ts!, text: 'diagnostics' });
    const r2 = await web.chat.postMessage({ channel: 'ops-critical', thread_ts: r1.ts!, text: 'reply to a reply joins the thread' });
    expect(r1.message).toMatchObject({ thread_ts: parent.ts, parent_user_id: 'U0OPSBOT' });
    const thread = await web.conversations.replies({ channel: 'C0OPSCRIT', ts: parent.ts! });
    expect(thread.messages!.map((m) => m.ts)).toEqual([parent.ts, r1.ts, r2.ts]);
    expect(thread.messages![0]).toMatchObject({ reply_count: 2, reply_users: ['U0OPSBOT'], reply_users_count: 1, latest_reply: r2.ts, thread_ts: parent.ts });
    expect(thread.messages![2]).toMatchObject({ thread_ts: parent.ts });
    // The channel shows only the parent; replies live in the thread.
    const history = await web.conversations.history({ channel: 'C0OPSCRIT' });
    expect(history.messages!.map((m) => m.ts)).toEqual([parent.ts]);
    expect(await slackError(web.conversations.replies({ channel: 'C0OPSCRIT', ts: '1.000001' }))).toMatchObject({ error: 'thread_not_found' });
    expect(await slackError(web.chat.postMessage({ channel: 'C0OPSCRIT', thread_ts: '1.000001', text: 'x' }))).toMatchObject({ error: 'thread_not_found' });
  });

  it('chat.update edits text and blocks in place and marks the message edited', async () => {
    const posted = await web.chat.postMessage({ channel: 'ops-critical', text: 'firing', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'firing' } }] });
    await web.chat.postMessage({ channel: 'ops-critical', thread_ts: posted.ts!, text: 'reply' });
    const updated = await web.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'resolved', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Resolved' } }] });
    expect(updated).toMatchObject({ ok: true, channel: 'C0OPSCRIT', ts: posted.ts, text: 'resolved' });
    const [msg] = (await web.conversations.history({ channel: 'C0OPSCRIT' })).messages!;
    expect(msg).toMatchObject({ ts: posted.ts, text: 'resolved', reply_count: 1, edited: { user: 'U0OPSBOT' } });
    expect(msg!.blocks).toEqual([expect.objectContaining({ type: 'header', text: { type: 'plain_text', text: 'Resolved' } })]);
    // Text only: Slack keeps the blocks the call leaves out.
    await web.chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'resolved again' });
    const [again] = (await web.conversations.history({ channel: 'C0OPSCRIT' })).messages!;
    expect(again).toMatchObject({ text: 'resolved again' });
    expect(again!.blocks).toHaveLength(1);
    expect(await slackError(web.chat.update({ channel: 'C0OPSCRIT', ts: '1.000001', text: 'x' }))).toMatchObject({ error: 'message_not_found' });
    expect(await slackError(web.chat.update({ channel: 'ops-critical', ts: posted.ts!, text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
  });

  it('chat.delete removes a message; a parent with replies stays as a tombstone', async () => {
    const lone = await web.chat.postMessage({ channel: 'ops-alerts', text: 'lone' });
    const parent = await web.chat.postMessage({ channel: 'ops-alerts', text: 'parent' });
    await web.chat.postMessage({ channel: 'ops-alerts', thread_ts: parent.ts!, text: 'child' });
    expect(await web.chat.delete({ channel: 'C0OPSALRT', ts: lone.ts! })).toMatchObject({ ok: true, channel: 'C0OPSALRT', ts: lone.ts });
    await web.chat.delete({ channel: 'C0OPSALRT', ts: parent.ts! });
    const history = (await web.conversations.history({ channel: 'C0OPSALRT' })).messages!;
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ ts: parent.ts, subtype: 'tombstone', reply_count: 1 });
    expect(await slackError(web.chat.delete({ channel: 'C0OPSALRT', ts: lone.ts! }))).toMatchObject({ error: 'message_not_found' });
  });

  it('pages conversations.history newest first with limit, cursor, oldest and latest', async () => {
    const ts: string[] = [];
    for (let i = 0; i < 7; i++) ts.push((await web.chat.postMessage({ channel: 'ops-reports', text: `m${i}` })).ts!);
    const first = await web.conversations.history({ channel: 'C0OPSRPTS', limit: 3 });
    expect(first.messages!.map((m) => m.text)).toEqual(['m6', 'm5', 'm4']);
    expect(first.has_more).toBe(true);
    expect(first.response_metadata!.next_cursor).toBeTruthy();
    const second = await web.conversations.history({ channel: 'C0OPSRPTS', limit: 3, cursor: first.response_metadata!.next_cursor });
    expect(second.messages!.map((m) => m.text)).toEqual(['m3', 'm2', 'm1']);
    const third = await web.conversations.history({ channel: 'C0OPSRPTS', limit: 3, cursor: second.response_metadata!.next_cursor });
    expect(third.messages!.map((m) => m.text)).toEqual(['m0']);
    expect(third).toMatchObject({ has_more: false, response_metadata: { next_cursor: '' } });
    const windowed = await web.conversations.history({ channel: 'C0OPSRPTS', oldest: ts[1], latest: ts[4] });
    expect(windowed.messages!.map((m) => m.text)).toEqual(['m3', 'm2']);
    const inclusive = await web.conversations.history({ channel: 'C0OPSRPTS', oldest: ts[1], latest: ts[4], inclusive: true });
    expect(inclusive.messages!.map((m) => m.text)).toEqual(['m4', 'm3', 'm2', 'm1']);
    // WebClient's own paginator walks the cursors to the end.
    const all: string[] = [];
    for await (const page of web.paginate('conversations.history', { channel: 'C0OPSRPTS', limit: 2 })) {
      all.push(...((page as { messages?: { text: string }[] }).messages ?? []).map((m) => m.text));
    }
    expect(all).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
  });

  it('lists and describes channels and users with Slack shapes', async () => {
    const list = await web.conversations.list();
    const names = list.channels!.map((c) => c.name).sort();
    expect(names).toEqual(['general', 'ops-alerts', 'ops-critical', 'ops-reports']);
    expect(list.channels![0]).toMatchObject({ is_channel: true, is_private: false, is_member: true, is_archived: false });
    expect((await web.conversations.info({ channel: 'C0OPSCRIT' })).channel).toMatchObject({ id: 'C0OPSCRIT', name: 'ops-critical' });
    expect(await slackError(web.conversations.info({ channel: 'C0NOPE' }))).toMatchObject({ error: 'channel_not_found' });
    const users = await web.users.list({});
    const byName = Object.fromEntries(users.members!.map((u) => [u.name, u]));
    expect(byName.alice).toMatchObject({ id: 'U0ALICE', is_admin: true, is_bot: false });
    expect(byName.bob).toMatchObject({ id: 'U0BOB' });
    expect(byName.carol).toMatchObject({ id: 'U0CAROL' });
    expect(byName.opsbot).toMatchObject({ id: 'U0OPSBOT', is_bot: true, profile: { bot_id: 'B0OPSBOT' } });
    expect((await web.users.info({ user: 'U0BOB' })).user).toMatchObject({ name: 'bob', real_name: 'Bob Responder' });
    expect(await slackError(web.users.info({ user: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
  });

  it('checks content: no_text, msg_too_long, channel_not_found, invalid_arguments', async () => {
    expect(await slackError(web.chat.postMessage({ channel: 'ops-critical' } as never))).toMatchObject({ error: 'no_text' });
    expect(await slackError(web.chat.postMessage({ channel: 'ops-critical', text: 'x'.repeat(40_001) }))).toMatchObject({ error: 'msg_too_long' });
    expect((await web.chat.postMessage({ channel: 'ops-critical', text: 'x'.repeat(40_000) })).ok).toBe(true);
    expect(await slackError(web.chat.postMessage({ channel: 'nowhere', text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await slackError(web.conversations.history({ channel: 'ops-critical' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await slackError(web.conversations.replies({ channel: 'C0OPSCRIT' } as never))).toMatchObject({ error: 'invalid_arguments' });
    const unknown = await fetch(`${url}/api/chat.fly`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(await unknown.json()).toMatchObject({ ok: false, error: 'unknown_method' });
  });

  it('validates Block Kit as Slack does and says what is wrong', async () => {
    const post = (blocks: unknown[]) => slackError(web.chat.postMessage({ channel: 'ops-critical', text: 't', blocks: blocks as never }));
    const cases: [string, unknown[]][] = [
      ['unknown block type', [{ type: 'carousel' }]],
      ['too many blocks', Array.from({ length: 51 }, () => ({ type: 'divider' }))],
      ['section text over 3000', [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }]],
      ['header over 150', [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }]],
      ['header in mrkdwn', [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }]],
      ['26 elements in actions', [{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`a${i}`)) }]],
      ['button text over 75', [{ type: 'actions', elements: [button('a', 'x'.repeat(76))] }]],
      ['action_id over 255', [{ type: 'actions', elements: [button('a'.repeat(256))] }]],
      ['duplicate action_id', [{ type: 'actions', elements: [button('same')] }, { type: 'section', text: { type: 'mrkdwn', text: 'x' }, accessory: button('same') }]],
      ['value over 2000', [{ type: 'actions', elements: [button('a', 'Go', 'v'.repeat(2001))] }]],
      ['empty section', [{ type: 'section' }]],
    ];
    for (const [label, blocks] of cases) {
      const data = await post(blocks);
      expect({ label, error: data.error }).toEqual({ label, error: 'invalid_blocks' });
      expect((data as { errors?: string[] }).errors?.length).toBeGreaterThan(0);
    }
    const edge = [
      { type: 'header', text: { type: 'plain_text', text: 'x'.repeat(150) } },
      { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'ctx' }] },
      { type: 'divider' },
      { type: 'image', image_url: 'https://example.invalid/x.png', alt_text: 'graph' },
      { type: 'rich_text', elements: [] },
      { type: 'actions', elements: Array.from({ length: 25 }, (_, i) => button(`b${i}`, 'x'.repeat(75), 'v'.repeat(2000))) },
    ];
    expect((await web.chat.postMessage({ channel: 'ops-critical', text: 'edge', blocks: edge as never })).ok).toBe(true);
    const raw = await fetch(`${url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: new URLSearchParams({ channel: 'ops-critical', text: 'x', blocks: '{not json' }),
    });
    expect(await raw.json()).toMatchObject({ ok: false, error: 'invalid_blocks_format' });
  });

  it('adds and removes reactions, posts ephemerals and opens DMs', async () => {
    const posted = await web.chat.postMessage({ channel: 'ops-critical', text: 'react to me' });
    await web.reactions.add({ channel: 'C0OPSCRIT', timestamp: posted.ts!, name: 'eyes' });
    expect(await slackError(web.reactions.add({ channel: 'C0OPSCRIT', timestamp: posted.ts!, name: 'eyes' }))).toMatchObject({ error: 'already_reacted' });
    let [msg] = (await web.conversations.history({ channel: 'C0OPSCRIT' })).messages!;
    expect(msg!.reactions).toEqual([{ name: 'eyes', users: ['U0OPSBOT'], count: 1 }]);
    await web.reactions.remove({ channel: 'C0OPSCRIT', timestamp: posted.ts!, name: 'eyes' });
    [msg] = (await web.conversations.history({ channel: 'C0OPSCRIT' })).messages!;
    expect(msg!.reactions).toBeUndefined();
    expect(await slackError(web.reactions.remove({ channel: 'C0OPSCRIT', timestamp: posted.ts!, name: 'eyes' }))).toMatchObject({ error: 'no_reaction' });
    const eph = await web.chat.postEphemeral({ channel: 'ops-critical', user: 'U0ALICE', text: 'only alice' });
    expect(eph.message_ts).toMatch(/^\d+\.\d+$/);
    expect(sandbox.state.ephemerals).toEqual([expect.objectContaining({ user: 'U0ALICE', channel: 'C0OPSCRIT', text: 'only alice' })]);
    expect(await slackError(web.chat.postEphemeral({ channel: 'ops-critical', user: 'U0NOBODY', text: 'x' }))).toMatchObject({ error: 'user_not_found' });
    const dm = await web.conversations.open({ users: 'U0BOB' });
    const sent = await web.chat.postMessage({ channel: 'U0BOB', text: 'you are on call' });
    expect(sent.channel).toBe(dm.channel!.id);
    expect((await web.conversations.history({ channel: dm.channel!.id! })).messages![0]).toMatchObject({ text: 'you are on call' });
  });
});

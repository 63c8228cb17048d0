import { WebClient } from '@slack/web-api';
import { listen, type RunningServer } from '../../lib/http';
import { createSandboxClient, createSlackSandbox, type SlackSandbox } from '../../sandbox/slack';

/** The web page and the read-only views it polls (no bot token on the page). */
const TOKEN = 'xoxb-sandbox-web-page-test';

describe('sandbox slack web page', () => {
  let sandbox: SlackSandbox;
  let url: string;
  let web: WebClient;

  beforeAll(async () => {
    sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: 'web-page-test-signing-secret-0000', requestUrl: 'http://127.0.0.1:9/slack/events', rateLimits: false });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
  });
  afterAll(() => sandbox.stop());
  beforeEach(() => sandbox.reset());

  it('serves one HTML page that uses only the sandbox endpoints', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script src="/_sandbox/web/page.js">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const js = await fetch(`${url}/_sandbox/web/page.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    const script = await js.text();
    for (const endpoint of ['/_sandbox/command', '/_sandbox/click', '/_sandbox/post', '/_sandbox/react', '/_sandbox/events-stream']) expect(script).toContain(endpoint);
    expect((await fetch(`${url}/_sandbox/web/page.css`)).headers.get('content-type')).toContain('text/css');
    expect(html + script).not.toContain(TOKEN);
  });

  it('lists the workspace and shows a channel, a thread and the viewer’s ephemerals only', async () => {
    const ws = (await (await fetch(`${url}/_sandbox/workspace`)).json()) as { channels: { name: string }[]; users: { name: string; isBot: boolean }[] };
    expect(ws.channels.map((c) => c.name)).toEqual(['general', 'ops-alerts', 'ops-critical', 'ops-reports']);
    expect(ws.users.filter((u) => !u.isBot).map((u) => u.name).sort()).toEqual(['alice', 'bob', 'carol']);

    const parent = await web.chat.postMessage({ channel: 'ops-critical', text: '<script>alert(1)</script> *INC-3*' });
    await web.chat.postMessage({ channel: 'ops-critical', thread_ts: parent.ts!, text: 'in thread' });
    await web.chat.postEphemeral({ channel: 'ops-critical', user: 'U0BOB', text: 'for bob' });

    type View = { messages: { ts: string; text: string; reply_count?: number }[]; ephemeral: { text: string }[] };
    const asBob = (await (await fetch(`${url}/_sandbox/messages?channel=ops-critical&user=bob`)).json()) as View;
    expect(asBob.messages.map((m) => m.text)).toEqual(['<script>alert(1)</script> *INC-3*']);
    expect(asBob.messages[0]!.reply_count).toBe(1);
    expect(asBob.ephemeral.map((e) => e.text)).toEqual(['for bob']);
    const asAlice = (await (await fetch(`${url}/_sandbox/messages?channel=ops-critical&user=alice`)).json()) as View;
    expect(asAlice.ephemeral).toEqual([]);
    const thread = (await (await fetch(`${url}/_sandbox/messages?channel=C0OPSCRIT&thread_ts=${parent.ts}`)).json()) as View;
    expect(thread.messages.map((m) => m.text)).toEqual(['<script>alert(1)</script> *INC-3*', 'in thread']);
    expect((await fetch(`${url}/_sandbox/messages?channel=nowhere`)).status).toBe(404);
  });
});

describe('sandbox slack live stream, posting as a person and selects', () => {
  let sandbox: SlackSandbox;
  let url: string;
  let web: WebClient;
  let bot: RunningServer;
  const got: Record<string, unknown>[] = [];

  beforeAll(async () => {
    bot = await listen((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        const form = new URLSearchParams(raw).get('payload');
        got.push(JSON.parse(form ?? (raw.startsWith('{') ? raw : '{}')) as Record<string, unknown>);
        res.end();
      });
    }, 0);
    sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: 'web-page-test-signing-secret-0000', requestUrl: `${bot.url}/slack/events`, rateLimits: false });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await sandbox.stop();
    await bot.close();
  });
  beforeEach(() => {
    sandbox.reset();
    got.length = 0;
  });

  const post = (path: string, body: unknown) => fetch(`${url}/_sandbox${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('streams a change event after each write, carrying no content', async () => {
    const res = await fetch(`${url}/_sandbox/events-stream`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let seen = '';
    const until = async (re: RegExp) => {
      while (!re.test(seen)) seen += new TextDecoder().decode((await reader.read()).value);
    };
    await until(/event: hello/);
    await web.chat.postMessage({ channel: 'ops-critical', text: 'secret text' });
    await until(/event: change\nid: \d+\ndata: \{"version":\d+\}/);
    expect(seen).not.toContain('secret text');
    await reader.cancel();
  });

  it('POST /post stores the person’s message and delivers a message event; bad input changes nothing', async () => {
    const root = await web.chat.postMessage({ channel: 'ops-critical', text: 'root' });
    const ok = await post('/post', { user: 'bob', channel: 'ops-critical', text: 'on it', thread_ts: root.ts });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { ts: string; event: { status: number } };
    expect(body.event.status).toBe(200);
    const replies = await web.conversations.replies({ channel: 'C0OPSCRIT', ts: root.ts! });
    expect(replies.messages!.map((m) => [m.user, m.text])).toEqual([['U0OPSBOT', 'root'], ['U0BOB', 'on it']]);
    expect(got).toEqual([expect.objectContaining({ type: 'event_callback', event: expect.objectContaining({ type: 'message', user: 'U0BOB', text: 'on it', ts: body.ts, thread_ts: root.ts, channel: 'C0OPSCRIT' }) })]);

    const before = sandbox.state.channelMessages('C0OPSCRIT').length;
    const empty = await post('/post', { user: 'bob', channel: 'ops-critical', text: '   ' });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ ok: false, error: 'invalid_arguments', reason: expect.stringContaining('text') });
    const noThread = await post('/post', { user: 'bob', channel: 'ops-critical', text: 'x', thread_ts: '1.000001' });
    expect(noThread.status).toBe(404);
    expect(await noThread.json()).toMatchObject({ error: 'thread_not_found' });
    expect((await post('/post', { user: 'nobody', channel: 'ops-critical', text: 'x' })).status).toBe(404);
    expect((await post('/post', { user: 'bob', channel: 'nowhere', text: 'x' })).status).toBe(404);
    expect(sandbox.state.channelMessages('C0OPSCRIT').length).toBe(before);
    expect(got).toHaveLength(1);

    // The typed client does the same.
    expect(await createSandboxClient(url).post({ user: 'carol', channel: 'general', text: 'hi' })).toMatchObject({ ok: true, ts: expect.any(String), event: { status: 200 } });
    expect(got[1]).toMatchObject({ event: { type: 'message', user: 'U0CAROL', channel: 'C0GENERAL', channel_type: 'channel' } });
  });

  it('a click on a static_select sends the option the message defines; an unknown value is refused', async () => {
    const msg = await web.chat.postMessage({
      channel: 'ops-critical',
      text: 'snooze',
      blocks: [{ type: 'actions', block_id: 'b', elements: [{ type: 'static_select', action_id: 'snooze', placeholder: { type: 'plain_text', text: 'Snooze' }, options: [{ text: { type: 'plain_text', text: '1 hour' }, value: 'INC-1|1h' }] }] }],
    });
    const ok = await post('/click', { user: 'bob', channel: 'ops-critical', ts: msg.ts, action_id: 'snooze', value: 'INC-1|1h' });
    expect(ok.status).toBe(200);
    expect(got[0]).toMatchObject({ actions: [{ type: 'static_select', action_id: 'snooze', block_id: 'b', selected_option: { text: { type: 'plain_text', text: '1 hour' }, value: 'INC-1|1h' } }] });
    const bad = await post('/click', { user: 'bob', channel: 'ops-critical', ts: msg.ts, action_id: 'snooze', value: 'INC-1|forever' });
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ ok: false, error: 'option_not_found', reason: expect.stringContaining('INC-1|1h') });
    expect(got).toHaveLength(1);
  });

  it('stop ends open event streams, so the sandbox closes with a page still connected', async () => {
    const other = createSlackSandbox({ botToken: TOKEN, signingSecret: 'web-page-test-signing-secret-0000', requestUrl: `${bot.url}/slack/events` });
    const { url: otherUrl } = await other.start(0);
    const res = await fetch(`${otherUrl}/_sandbox/events-stream`);
    const reader = res.body!.getReader();
    await reader.read();
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    for (;;) if ((await reader.read()).done) break;
  });
});

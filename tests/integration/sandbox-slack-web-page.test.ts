import { WebClient } from '@slack/web-api';
import { createSlackSandbox, type SlackSandbox } from '../../sandbox/slack';

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
    const html = await res.text();
    expect(html).toContain('/_sandbox/command');
    expect(html).toContain('/_sandbox/click');
    expect(html).not.toContain(TOKEN);
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

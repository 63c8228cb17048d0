import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { listen, type RunningServer } from '../../lib/http';
import { createSandboxClient, createSlackSandbox, type SandboxClient, type SlackSandbox, type SlackSandboxConfig } from '../../sandbox/slack';

/**
 * Slash commands and clicks delivered by the sandbox must pass Bolt's own
 * signature verification and body parsing, and response_url must work from
 * Bolt's respond(). A real Bolt App with an ExpressReceiver is the bot here.
 */
const TOKEN = 'xoxb-sandbox-delivery-test';
const SECRET = 'delivery-test-signing-secret-0123456789';

interface Seen {
  commands: Record<string, unknown>[];
  actions: Record<string, unknown>[];
  bodies: Record<string, unknown>[];
}

/**
 * The bot listens first (the sandbox needs its request URL); its App is wired
 * once the sandbox's URL is known, since Bolt calls auth.test against it.
 */
async function listenBot(secret: string): Promise<{ server: RunningServer; receiver: ExpressReceiver }> {
  const receiver = new ExpressReceiver({ signingSecret: secret, logLevel: LogLevel.ERROR });
  return { server: await listen(receiver.app, 0), receiver };
}

function wireApp(receiver: ExpressReceiver, slackApiUrl: string, seen: Seen): void {
  const app = new App({
    token: TOKEN,
    receiver,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl },
  });
  app.command('/ops', async ({ command, ack, respond }) => {
    seen.commands.push(command as unknown as Record<string, unknown>);
    if (command.text === 'help') {
      await ack({ text: 'usage: /ops <verb>', response_type: 'ephemeral' });
    } else if (command.text === 'announce') {
      await ack();
      await respond({ response_type: 'in_channel', text: 'announced by /ops' });
    } else if (command.text === 'slow-ephemeral') {
      await ack();
      await respond({ text: 'working on it (only you see this)' });
    } else {
      await ack();
    }
  });
  app.action('ack_incident', async ({ ack, body, action, respond }) => {
    await ack();
    seen.actions.push(action as unknown as Record<string, unknown>);
    seen.bodies.push(body as unknown as Record<string, unknown>);
    await respond({ replace_original: true, text: `acknowledged by <@${body.user.id}>` });
  });
  app.action('comment', async ({ ack, body, respond }) => {
    await ack();
    seen.bodies.push(body as unknown as Record<string, unknown>);
    await respond({ replace_original: false, response_type: 'ephemeral', text: 'noted' });
  });
}

async function startPair(botSecret: string, seen: Seen, extra: Partial<SlackSandboxConfig> = {}) {
  const bot = await listenBot(botSecret);
  const sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: SECRET, requestUrl: `${bot.server.url}/slack/events`, ...extra });
  const { url } = await sandbox.start(0);
  wireApp(bot.receiver, `${url}/api/`, seen);
  return { bot: bot.server, sandbox, url };
}

describe('sandbox slack delivery to a real Bolt app', () => {
  let sandbox: SlackSandbox;
  let bot: RunningServer;
  let client: SandboxClient;
  let web: WebClient;
  const seen: Seen = { commands: [], actions: [], bodies: [] };

  beforeAll(async () => {
    let url: string;
    ({ bot, sandbox, url } = await startPair(SECRET, seen, { rateLimits: false }));
    client = createSandboxClient(url, { token: TOKEN });
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
  });

  afterAll(async () => {
    await sandbox.stop();
    await bot.close();
  });

  beforeEach(() => {
    sandbox.reset();
    seen.commands.length = 0;
    seen.actions.length = 0;
    seen.bodies.length = 0;
  });

  it('delivers /ops as a signed form post Bolt accepts, with the fields Slack sends', async () => {
    const result = await client.command({ user: 'alice', channel: '#ops-critical', command: '/ops', text: 'status INC-1' });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(seen.commands).toHaveLength(1);
    expect(seen.commands[0]).toMatchObject({
      command: '/ops',
      text: 'status INC-1',
      user_id: 'U0ALICE',
      user_name: 'alice',
      channel_id: 'C0OPSCRIT',
      channel_name: 'ops-critical',
      team_id: 'T0SANDBOX',
      team_domain: 'sandbox',
      api_app_id: 'A0OPSBOT',
    });
    expect(seen.commands[0]!.response_url).toMatch(/\/_sandbox\/respond\//);
    expect(seen.commands[0]!.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(typeof seen.commands[0]!.token).toBe('string');
  });

  it('returns the ack body and shows it to the caller only, as Slack does', async () => {
    const result = await client.command({ user: 'bob', channel: 'ops-alerts', command: '/ops', text: 'help' });
    expect(result).toMatchObject({ ok: true, status: 200, body: { text: 'usage: /ops <verb>', response_type: 'ephemeral' } });
    const eph = await client.ephemeral({ user: 'bob', channel: 'ops-alerts' });
    expect(eph).toHaveLength(1);
    expect(eph[0]).toMatchObject({ text: 'usage: /ops <verb>', user: 'U0BOB', channel: 'C0OPSALRT', source: 'ack' });
    expect(await client.ephemeral({ user: 'alice' })).toHaveLength(0);
    expect(await client.history('ops-alerts')).toHaveLength(0);
  });

  it('applies respond() from a command listener: in_channel posts, default is ephemeral', async () => {
    await client.command({ user: 'alice', channel: 'ops-reports', command: '/ops', text: 'announce' });
    await client.command({ user: 'carol', channel: 'ops-reports', command: '/ops', text: 'slow-ephemeral' });
    // respond() runs after ack(); wait until both replies landed.
    await waitFor(async () => (await client.history('ops-reports')).length === 1 && (await client.ephemeral({ user: 'carol' })).length === 1);
    const history = await client.history('ops-reports');
    expect(history[0]).toMatchObject({ text: 'announced by /ops', bot_id: 'B0OPSBOT' });
    expect((await client.ephemeral({ user: 'carol' }))[0]).toMatchObject({ text: 'working on it (only you see this)', source: 'response_url' });
  });

  it('delivers a click as block_actions with the full message, and respond() replaces it', async () => {
    const posted = await web.chat.postMessage({
      channel: 'ops-critical',
      text: 'INC-7 fired',
      blocks: [
        { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: '*INC-7* HighErrorRate' } },
        {
          type: 'actions',
          block_id: 'incident_actions',
          elements: [
            { type: 'button', action_id: 'ack_incident', text: { type: 'plain_text', text: 'Acknowledge' }, value: 'INC-7', style: 'primary' },
          ],
        },
      ],
    });
    const reply = await web.chat.postMessage({ channel: posted.channel!, thread_ts: posted.ts!, text: 'details' });
    const result = await client.click({ user: 'bob', channel: 'ops-critical', ts: posted.ts!, action_id: 'ack_incident' });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(seen.actions[0]).toMatchObject({ action_id: 'ack_incident', block_id: 'incident_actions', value: 'INC-7', type: 'button' });
    expect(seen.actions[0]!.action_ts).toMatch(/^\d+\.\d+$/);
    expect(seen.bodies[0]).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0BOB', username: 'bob' },
      team: { id: 'T0SANDBOX' },
      channel: { id: 'C0OPSCRIT', name: 'ops-critical' },
      container: { type: 'message', message_ts: posted.ts, channel_id: 'C0OPSCRIT', is_ephemeral: false },
      message: { ts: posted.ts, text: 'INC-7 fired', thread_ts: posted.ts, reply_count: 1 },
      api_app_id: 'A0OPSBOT',
    });
    expect((seen.bodies[0]!.message as { blocks: unknown[] }).blocks).toHaveLength(2);
    await waitFor(async () => (await client.replies('ops-critical', posted.ts!))[0]!.text !== 'INC-7 fired');
    const thread = await client.replies('ops-critical', posted.ts!);
    expect(thread[0]).toMatchObject({ ts: posted.ts, text: 'acknowledged by <@U0BOB>' });
    expect(thread[0]!.blocks).toBeUndefined();
    expect(thread[1]).toMatchObject({ ts: reply.ts, text: 'details' });
  });

  it('clicks on an ephemeral message and answers with a new ephemeral when replace_original is false', async () => {
    await web.chat.postEphemeral({
      channel: 'C0OPSALRT',
      user: 'U0CAROL',
      text: 'add a note?',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'comment', text: { type: 'plain_text', text: 'Note' } }] }],
    });
    const [eph] = await client.ephemeral({ user: 'carol', channel: 'ops-alerts' });
    const result = await client.click({ user: 'carol', channel: 'ops-alerts', ts: eph!.ts, action_id: 'comment' });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(seen.bodies[0]).toMatchObject({ container: { is_ephemeral: true, message_ts: eph!.ts } });
    expect(seen.bodies[0]!.message).toBeUndefined();
    await waitFor(async () => (await client.ephemeral({ user: 'carol' })).length === 2);
    const texts = (await client.ephemeral({ user: 'carol' })).map((e) => e.text);
    expect(texts).toEqual(['add a note?', 'noted']);
  });

  it('answers 404 with a reason for a missing button, message, user or channel', async () => {
    const posted = await web.chat.postMessage({ channel: 'ops-critical', text: 'no buttons' });
    const noButton = await client.click({ user: 'bob', channel: 'ops-critical', ts: posted.ts!, action_id: 'ack_incident' });
    expect(noButton).toMatchObject({ ok: false, error: 'action_not_found' });
    expect(noButton.reason).toContain('ack_incident');
    const noMessage = await client.click({ user: 'bob', channel: 'ops-critical', ts: '1.000001', action_id: 'x' });
    expect(noMessage).toMatchObject({ ok: false, error: 'message_not_found' });
    expect(await client.command({ user: 'mallory', channel: 'ops-critical', command: '/ops', text: '' })).toMatchObject({ ok: false, error: 'user_not_found' });
    expect(await client.command({ user: 'alice', channel: 'nowhere', command: '/ops', text: '' })).toMatchObject({ ok: false, error: 'channel_not_found' });
    expect(seen.actions).toHaveLength(0);
    expect(seen.commands).toHaveLength(0);
  });

  it('signs with the configured secret: a bot with another secret refuses the delivery', async () => {
    const otherSeen: Seen = { commands: [], actions: [], bodies: [] };
    const { bot: otherBot, sandbox: other, url } = await startPair('another-signing-secret-9876543210', otherSeen);
    try {
      const result = await createSandboxClient(url, { token: TOKEN }).command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: 'x' });
      expect(result.ok).toBe(true);
      expect(result.status).toBe(401);
      expect(otherSeen.commands).toHaveLength(0);
    } finally {
      await other.stop();
      await otherBot.close();
    }
  });

  it('reports a bot that cannot be reached instead of hanging', async () => {
    const lonely = createSlackSandbox({ botToken: TOKEN, signingSecret: SECRET, requestUrl: 'http://127.0.0.1:9/slack/events' });
    const { url } = await lonely.start(0);
    try {
      const result = await createSandboxClient(url, { token: TOKEN }).command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: 'x' });
      expect(result).toMatchObject({ ok: false, error: 'delivery_failed' });
    } finally {
      await lonely.stop();
    }
  });

  it('refuses a used-up response_url as Slack does', async () => {
    await client.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: 'plain' });
    const url = String(seen.commands[0]!.response_url);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: `n${i}` }) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    const bad = await fetch(url.replace(/[^/]+$/, 'nope'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"x"}' });
    expect(bad.status).toBe(404);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

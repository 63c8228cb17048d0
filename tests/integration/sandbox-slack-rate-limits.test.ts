import { ErrorCode, WebClient, type WebAPIRateLimitedError } from '@slack/web-api';
import { createSandboxClient, createSlackSandbox, SLACK_RATE_LIMITS, type SlackSandbox } from '../../sandbox/slack';

/**
 * Rate limits answer 429 with Retry-After and `{ok:false, error:'ratelimited'}`,
 * per channel for chat.postMessage and per method elsewhere, and every call
 * and refusal shows in /_sandbox/stats. Limits here are tiny so that no test
 * depends on how fast the machine is.
 */
const TOKEN = 'xoxb-sandbox-rate-limit-test';

describe('sandbox slack rate limits and stats', () => {
  let sandbox: SlackSandbox;
  let url: string;
  let web: WebClient;

  beforeAll(async () => {
    sandbox = createSlackSandbox({
      botToken: TOKEN,
      signingSecret: 'rate-limit-test-signing-secret-00',
      requestUrl: 'http://127.0.0.1:9/slack/events',
      rateLimits: {
        'chat.postMessage': { perMinute: 1, burst: 2 },
        'chat.update': { perMinute: 1, burst: 1 },
      },
    });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  });
  afterAll(() => sandbox.stop());
  beforeEach(() => sandbox.reset());

  it('answers 429 with Retry-After and ratelimited once a channel used its burst', async () => {
    await web.chat.postMessage({ channel: 'ops-critical', text: '1' });
    await web.chat.postMessage({ channel: '#ops-critical', text: '2' });
    const raw = await fetch(`${url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: new URLSearchParams({ channel: 'C0OPSCRIT', text: '3' }),
    });
    expect(raw.status).toBe(429);
    const retryAfter = Number(raw.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });

    // The real WebClient sees it as Slack's rate limit.
    const err = (await web.chat.postMessage({ channel: 'ops-critical', text: '4' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBeGreaterThanOrEqual(1);

    // Another channel has its own allowance; the refused posts were not stored.
    expect((await web.chat.postMessage({ channel: 'ops-alerts', text: 'other channel' })).ok).toBe(true);
    expect((await web.conversations.history({ channel: 'C0OPSCRIT' })).messages).toHaveLength(2);
  });

  it('limits other methods per method, whatever the channel', async () => {
    const a = await sandboxPost('ops-critical');
    const b = await sandboxPost('ops-alerts');
    await web.chat.update({ channel: 'C0OPSCRIT', ts: a, text: 'edited' });
    const err = (await web.chat.update({ channel: 'C0OPSALRT', ts: b, text: 'edited' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
  });

  it('counts calls and 429s by method and channel id, and DELETE resets the counts', async () => {
    await web.chat.postMessage({ channel: 'ops-critical', text: '1' });
    await web.chat.postMessage({ channel: 'C0OPSCRIT', text: '2' });
    await web.chat.postMessage({ channel: '#ops-critical', text: '3' }).catch(() => undefined);
    await web.chat.postMessage({ channel: 'ops-reports', text: 'r' });
    await web.auth.test();
    const client = createSandboxClient(url);
    // Reading back as a test does is not the app's traffic: no stats, no rate limit.
    expect((await client.history('ops-critical')).map((m) => m.text)).toEqual(['2', '1']);
    const stats = await client.stats();
    expect(stats.calls['conversations.history']).toBeUndefined();
    expect(stats.calls['chat.postMessage']).toEqual({ total: 4, byChannel: { C0OPSCRIT: 3, C0OPSRPTS: 1 } });
    expect(stats.ratelimited['chat.postMessage']).toEqual({ total: 1, byChannel: { C0OPSCRIT: 1 } });
    expect(stats.calls['auth.test']).toEqual({ total: 1, byChannel: {} });
    expect(await client.resetStats()).toEqual({ ok: true });
    expect(await client.stats()).toEqual({ calls: {}, ratelimited: {}, faulted: {} });
  });

  it('lets the control API swap the table at run time, or turn limits off', async () => {
    const get = (await (await fetch(`${url}/_sandbox/rate-limits`)).json()) as { limits: Record<string, unknown> };
    expect(get.limits['chat.postMessage']).toEqual({ perMinute: 1, burst: 2, scope: 'channel' });
    expect(get.limits['conversations.history']).toEqual(SLACK_RATE_LIMITS['conversations.history']);
    const put = await fetch(`${url}/_sandbox/rate-limits`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ limits: false }) });
    expect(((await put.json()) as { limits: unknown }).limits).toEqual({});
    for (let i = 0; i < 10; i++) await web.chat.postMessage({ channel: 'ops-critical', text: `burst ${i}` });
    expect((await createSandboxClient(url, { token: TOKEN }).stats()).ratelimited).toEqual({});
    const bad = await fetch(`${url}/_sandbox/rate-limits`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ limits: { 'chat.update': { perMinute: -1 } } }) });
    expect(bad.status).toBe(400);
    await fetch(`${url}/_sandbox/rate-limits`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ limits: { 'chat.postMessage': { perMinute: 1, burst: 2 }, 'chat.update': { perMinute: 1, burst: 1 } } }),
    });
  });

  async function sandboxPost(channel: string): Promise<string> {
    return (await web.chat.postMessage({ channel, text: 'x' })).ts!;
  }
});

describe('sandbox slack default limits', () => {
  it("follows Slack's published table", () => {
    expect(SLACK_RATE_LIMITS['chat.postMessage']).toMatchObject({ perMinute: 60, scope: 'channel' });
    expect(SLACK_RATE_LIMITS['chat.update']).toMatchObject({ perMinute: 50, scope: 'method' });
    expect(SLACK_RATE_LIMITS['conversations.history']!.perMinute).toBe(50);
    expect(SLACK_RATE_LIMITS['conversations.replies']!.perMinute).toBe(50);
    expect(SLACK_RATE_LIMITS['conversations.list']!.perMinute).toBe(20);
    expect(SLACK_RATE_LIMITS['users.info']!.perMinute).toBe(100);
  });

  it('refuses the 6th post to one channel within the same instant by default', async () => {
    // A clock that never moves makes the default bucket deterministic.
    const frozen = Date.now();
    const limited = createSlackSandbox({ botToken: TOKEN, signingSecret: 'x'.repeat(32), requestUrl: 'http://127.0.0.1:9/', now: () => frozen });
    const { url } = await limited.start(0);
    const web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
    try {
      const results: string[] = [];
      for (let i = 0; i < 8; i++) {
        results.push(await web.chat.postMessage({ channel: 'ops-critical', text: `${i}` }).then(() => 'ok', (e: { code: string }) => e.code));
      }
      expect(results).toEqual([...Array(5).fill('ok'), ...Array(3).fill(ErrorCode.RateLimitedError)]);
    } finally {
      await limited.stop();
    }
  });
});

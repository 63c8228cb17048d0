import { ErrorCode, WebClient, type WebAPIHTTPError, type WebAPIRateLimitedError } from '@slack/web-api';
import { classifyFailure, createOutboxWebClient } from '../../bot/slack-outbox/slack-client';
import { createSandboxClient, createSlackSandbox, type SandboxClient, type SlackSandbox } from '../../sandbox/slack';
import { CALL_LOG_MAX, createStats } from '../../sandbox/slack/stats';

/**
 * The sandbox Slack's answer faults (`PUT /_sandbox/faults` `answers`): calls
 * answered 429 with Retry-After, 500 or 503 as Slack does, not performed,
 * counted in stats (`faulted`) and in the call log; bad input is a 400 with the
 * reason and changes nothing. The sandbox's clock is a variable here, so
 * duration faults expire without waiting.
 */
const TOKEN = 'xoxb-sandbox-faults-test';

describe('sandbox slack answer faults', () => {
  let slack: SlackSandbox;
  let url: string;
  let sandbox: SandboxClient;
  let web: WebClient;
  let clock = 1_000_000;

  beforeAll(async () => {
    slack = createSlackSandbox({ botToken: TOKEN, signingSecret: 'faults-test-signing-secret-0000', requestUrl: 'http://127.0.0.1:9/slack/events', now: () => clock });
    ({ url } = await slack.start(0));
    sandbox = createSandboxClient(url);
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  });
  afterAll(() => slack.stop());
  beforeEach(() => slack.reset());

  const raw = (method: string, body: Record<string, string>) =>
    fetch(`${url}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: new URLSearchParams(body) });
  const put = (body: unknown) => fetch(`${url}/_sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it("answers a 429 as Slack does (Retry-After, ratelimited), does not perform the call, and counts it", async () => {
    await sandbox.setAnswerFaults([{ status: 429, methods: ['chat.postMessage'], count: 2, retryAfterSeconds: 3 }]);
    const first = await raw('chat.postMessage', { channel: 'C0OPSCRIT', text: 'one' });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(await first.json()).toEqual({ ok: false, error: 'ratelimited' });

    // The WebClient the outbox uses sees Slack's rate limit with its Retry-After.
    const err = (await web.chat.postMessage({ channel: 'ops-critical', text: 'two' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(3);
    // Other methods are not faulted; the count is used up, so the next post goes through.
    expect((await web.conversations.history({ channel: 'C0OPSCRIT' })).messages).toEqual([]);
    expect((await web.chat.postMessage({ channel: 'ops-critical', text: 'three' })).ok).toBe(true);
    expect((await sandbox.history('ops-critical')).map((m) => m.text)).toEqual(['three']);

    const stats = await sandbox.stats();
    expect(stats.faulted).toEqual({ 'chat.postMessage': { total: 2, byChannel: { C0OPSCRIT: 2 } } });
    expect(stats.ratelimited['chat.postMessage']!.total).toBe(2);
    expect(stats.calls['chat.postMessage']!.total).toBe(3);
    const log = await sandbox.calls('chat.postMessage');
    expect(log.map((c) => [c.status, c.error, c.retryAfter, c.faulted])).toEqual([
      [429, 'ratelimited', 3, true],
      [429, 'ratelimited', 3, true],
      [200, undefined, undefined, undefined],
    ]);
    for (const c of log) expect(c.answeredAt).toBeGreaterThanOrEqual(c.at);
    expect((await sandbox.faults()).answers).toEqual([]);
  });

  it('answers 500 internal_error and 503 service_unavailable; the outbox client gets them at once as retryable, unknown outcomes', async () => {
    await sandbox.setAnswerFaults([
      { status: 500, methods: ['chat.update'], count: 1 },
      { status: 503, count: 1 },
    ]);
    const res = await raw('chat.update', { channel: 'C0OPSCRIT', ts: '1.000001', text: 'x' });
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toEqual({ ok: false, error: 'internal_error' });

    // The outbox's client does not retry inside (retries: 0): one call, an HTTP error, classified retryable.
    const outboxClient = createOutboxWebClient(TOKEN, `${url}/api`);
    const err = (await outboxClient.chat.postMessage({ channel: 'ops-critical', text: 'during 503' }).catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(503);
    expect(classifyFailure(err)).toEqual({ kind: 'retry', unknownOutcome: true, reason: 'http_503' });
    expect(await sandbox.history('ops-critical')).toEqual([]);
    expect((await sandbox.stats()).faulted).toEqual({
      'chat.update': { total: 1, byChannel: { C0OPSCRIT: 1 } },
      'chat.postMessage': { total: 1, byChannel: { C0OPSCRIT: 1 } },
    });
  });

  it("a WebClient with a retry config (as Bolt's own client has) retries a 500 by itself", async () => {
    await sandbox.setAnswerFaults([{ status: 500, methods: ['chat.postMessage'], count: 2 }]);
    const retrying = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 3, minTimeout: 10, maxTimeout: 20, factor: 1 } });
    expect((await retrying.chat.postMessage({ channel: 'ops-alerts', text: 'after two 500s' })).ok).toBe(true);
    expect((await sandbox.calls('chat.postMessage')).map((c) => c.status)).toEqual([500, 500, 200]);
    expect((await sandbox.history('ops-alerts')).map((m) => m.text)).toEqual(['after two 500s']);
  });

  it('a duration fault answers every matching call until it expires; GET shows the time left; methods default to all', async () => {
    await sandbox.setAnswerFaults([{ status: 500, durationMs: 60_000 }]);
    expect((await sandbox.faults()).answers).toEqual([{ status: 500, remainingMs: 60_000 }]);
    for (const method of ['auth.test', 'chat.postMessage', 'users.list']) expect((await raw(method, { channel: 'C0GENERAL', text: 'x' })).status).toBe(500);
    clock += 59_999;
    expect((await sandbox.faults()).answers).toEqual([{ status: 500, remainingMs: 1 }]);
    expect((await raw('chat.postMessage', { channel: 'C0GENERAL', text: 'x' })).status).toBe(500);
    clock += 1;
    expect((await sandbox.faults()).answers).toEqual([]);
    expect((await web.chat.postMessage({ channel: 'general', text: 'recovered' })).ok).toBe(true);
    expect((await sandbox.stats()).faulted['chat.postMessage']!.total).toBe(2);
  });

  it('the first matching fault answers; GET lists remaining counts; DELETE and reset clear them', async () => {
    const listed = await sandbox.setAnswerFaults([
      { status: 429, methods: ['chat.update'], count: 5 },
      { status: 503, methods: ['chat.update', 'chat.postMessage'], count: 1 },
    ]);
    expect(listed).toEqual([
      { status: 429, methods: ['chat.update'], retryAfterSeconds: 1, remainingCount: 5 },
      { status: 503, methods: ['chat.update', 'chat.postMessage'], remainingCount: 1 },
    ]);
    expect((await raw('chat.update', { channel: 'C0GENERAL', ts: '1.0', text: 'x' })).status).toBe(429);
    expect((await raw('chat.postMessage', { channel: 'C0GENERAL', text: 'x' })).status).toBe(503);
    expect((await sandbox.faults()).answers).toEqual([{ status: 429, methods: ['chat.update'], retryAfterSeconds: 1, remainingCount: 4 }]);

    expect(await sandbox.clearFaults()).toEqual({ ok: true });
    expect((await sandbox.faults()).answers).toEqual([]);
    expect((await raw('chat.update', { channel: 'C0GENERAL', ts: '1.0', text: 'x' })).status).toBe(200);

    await sandbox.setAnswerFaults([{ status: 429, count: 3 }]);
    await sandbox.reset();
    expect((await sandbox.faults()).answers).toEqual([]);
    expect(await sandbox.calls()).toEqual([]);
    expect(await sandbox.stats()).toEqual({ calls: {}, ratelimited: {}, faulted: {} });
  });

  it('a PUT of hang faults alone replaces the answer faults too (PUT is the whole state)', async () => {
    await sandbox.setAnswerFaults([{ status: 500, count: 3 }]);
    await sandbox.setFaults([{ method: 'chat.postMessage', count: 1, hangMs: 0 }]);
    expect(await sandbox.faults()).toEqual({ ok: true, faults: [{ method: 'chat.postMessage', count: 1, hangMs: 0 }], answers: [] });
  });

  it.each([
    [{ answers: [{ status: 404, count: 1 }] }, /status must be 429, 500 or 503/],
    [{ answers: [{ status: 429 }] }, /exactly one of count and durationMs/],
    [{ answers: [{ status: 429, count: 1, durationMs: 1000 }] }, /exactly one of count and durationMs/],
    [{ answers: [{ status: 500, count: 1, retryAfterSeconds: 2 }] }, /retryAfterSeconds: only a 429 carries Retry-After/],
    [{ answers: [{ status: 429, count: 1, retryAfterSeconds: 0 }] }, /retryAfterSeconds/],
    [{ answers: [{ status: 429, count: 0 }] }, /count/],
    [{ answers: [{ status: 429, count: 1.5 }] }, /count/],
    [{ answers: [{ status: 429, durationMs: -5 }] }, /durationMs/],
    [{ answers: [{ status: 429, count: 1, methods: ['chat.postMesage'] }] }, /methods\.0: the sandbox has no Web API method chat\.postMesage/],
    [{ answers: [{ status: 429, count: 1, methods: 'chat.postMessage' }] }, /methods/],
    [{ answers: [{ status: 429, count: 1, methods: [] }] }, /methods/],
    [{ answers: [{ status: 429, count: 1, method: 'chat.postMessage' }] }, /method/],
    [{ answer: [{ status: 429, count: 1 }] }, /answer/],
    [{}, /give faults and\/or answers/],
    [{ answers: 'all' }, /answers/],
  ])('refuses %j with 400 and the reason, leaving the armed faults as they were', async (body, reason) => {
    await sandbox.setAnswerFaults([{ status: 503, methods: ['chat.update'], count: 7 }]);
    const res = await put(body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { ok: boolean; error: string; reason: string };
    expect(answer).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(answer.reason).toMatch(reason);
    expect((await sandbox.faults()).answers).toEqual([{ status: 503, methods: ['chat.update'], remainingCount: 7 }]);
  });

  it('refuses a body that is not JSON with 400 and keeps the faults', async () => {
    await sandbox.setAnswerFaults([{ status: 429, count: 2 }]);
    const res = await fetch(`${url}/_sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"answers": [' });
    expect(res.status).toBe(400);
    expect((await sandbox.faults()).answers).toEqual([{ status: 429, retryAfterSeconds: 1, remainingCount: 2 }]);
  });
});

describe('sandbox slack call log', () => {
  it('keeps the most recent calls, within 10% over its bound', () => {
    const stats = createStats();
    const n = CALL_LOG_MAX + CALL_LOG_MAX / 10 + 1;
    for (let i = 0; i < n; i += 1) stats.record('chat.postMessage', 'C0GENERAL', i);
    const log = stats.calls();
    expect(log).toHaveLength(CALL_LOG_MAX);
    expect(log[log.length - 1]!.at).toBe(n - 1);
    expect(log[0]!.at).toBe(n - CALL_LOG_MAX);
    expect(stats.calls('chat.update')).toEqual([]);
  });
});

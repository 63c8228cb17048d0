import { signedSlackHeaders } from '../../lib/slack-signature';
import { startBotHarness, SIGNING_SECRET, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';

/**
 * Signed requests the bot must refuse cleanly: a payload without `user`
 * (400, never a 500 from deep inside a listener) and a timestamp far in the
 * future (refused like one far in the past: a replay window is 5 minutes either way).
 */
jest.setTimeout(60_000);

describe('signed Slack requests at the bot edge (real Bolt, real HTTP)', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const send = (body: string, now = Date.now()) =>
    fetch(`${h.botUrl}/slack/events`, { method: 'POST', headers: signedSlackHeaders(SIGNING_SECRET, body, now), body });

  const clickBody = (payload: Record<string, unknown>) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const click = {
    type: 'block_actions',
    team: { id: 'T0SANDBOX' },
    api_app_id: 'A0OPSBOT',
    container: { type: 'message', channel_id: 'C0OPSCRIT', message_ts: '1.000001' },
    channel: { id: 'C0OPSCRIT' },
    trigger_id: '1.2.3',
    response_url: 'http://127.0.0.1:9/respond',
    actions: [{ type: 'button', action_id: 'incident_ack', block_id: 'incident-actions', value: 'INC-1', action_ts: '1.1' }],
  };

  it('a block_actions payload without user is a 400 with a JSON reason, and changes nothing', async () => {
    const res = await send(clickBody(click));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_payload' });
    const withUser = await send(clickBody({ ...click, user: { id: 'U0BOB', name: 'bob' } }));
    expect(withUser.status).toBe(200);
  });

  it('a timestamp more than 5 minutes ahead is refused, as one more than 5 minutes behind is', async () => {
    const body = 'command=%2Fops&text=help&user_id=U0ALICE&user_name=alice&channel_id=C0OPSCRIT&team_id=T0SANDBOX&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=1.2.3';
    expect((await send(body)).status).toBe(200);
    const future = await send(body, Date.now() + 6 * 60_000);
    expect(future.status).toBe(401);
    const past = await send(body, Date.now() - 6 * 60_000);
    expect(past.status).toBe(401);
  });

  it('a body that claims gzip but is not is a JSON 400 without a stack trace, on every route', async () => {
    const garbage = Buffer.from('this is not gzip at all');
    for (const [route, headers] of [
      ['/alertmanager/webhook', { Authorization: `Bearer ${WEBHOOK_TOKEN}`, 'Content-Type': 'application/json' }],
      ['/slack/events', { 'Content-Type': 'application/x-www-form-urlencoded' }],
    ] as const) {
      const res = await fetch(`${h.botUrl}${route}`, { method: 'POST', headers: { ...headers, 'Content-Encoding': 'gzip' }, body: garbage });
      const text = await res.text();
      expect({ route, status: res.status }).toEqual({ route, status: 400 });
      expect(res.headers.get('content-type')).toMatch(/json/);
      expect(text).not.toMatch(/<html|<pre>|\s+at \S+ \(/i);
      expect(JSON.parse(text)).toMatchObject({ ok: false });
    }
  });
});

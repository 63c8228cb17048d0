/**
 * The bot's Bolt client (bot/slack-web-client.ts) still retries what Slack
 * fails, and stop() ends a call that is retrying: no request after it, no
 * backoff timer left (a leftover one kept jest from exiting after
 * slack-channel-ids-restart). Real WebClient calls against a real HTTP server
 * on 127.0.0.1 that answers 500 until told otherwise.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogLevel, WebClient } from '@slack/web-api';
import { createStoppableSlackClient } from '../../bot/slack-web-client';
import { eventually } from '../helpers/ports';

jest.setTimeout(30_000);

describe('the bot Slack client: retries until stop(), then nothing', () => {
  let server: http.Server;
  let url: string;
  let calls = 0;
  let answer: 'fail' | 'ok' | 'hold' = 'fail';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      calls += 1;
      req.resume();
      if (answer === 'hold') return; // never answered: the request stays in flight
      if (answer === 'fail') return void res.writeHead(500).end('down');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, channels: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  beforeEach(() => {
    calls = 0;
    answer = 'fail';
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('retries a failed call as the WebClient would, and answers once Slack does', async () => {
    const slack = createStoppableSlackClient(url, { retries: 5, minTimeout: 20, factor: 1 });
    const call = new WebClient('xoxb-test', { ...slack.options, logLevel: LogLevel.ERROR }).conversations.list();
    await eventually(async () => calls >= 2);
    answer = 'ok';
    await expect(call).resolves.toMatchObject({ ok: true });
    slack.stop();
  });

  it('stop() during the backoff ends the call with its last error, and nothing more reaches Slack', async () => {
    // A minute between attempts: the call can only end now if stop() ends the wait.
    const slack = createStoppableSlackClient(url, { retries: 5, minTimeout: 60_000, factor: 1 });
    const call = new WebClient('xoxb-test', { ...slack.options, logLevel: LogLevel.ERROR }).conversations.list();
    const settled = call.then(() => 'resolved', (err: Error) => err.message);
    await eventually(async () => calls === 1);
    slack.stop();
    expect(await settled).toMatch(/500/);
    expect(calls).toBe(1);
  });

  it('stop() aborts a request in flight, and a later call fails at once without a request', async () => {
    answer = 'hold';
    const slack = createStoppableSlackClient(url, { retries: 5, minTimeout: 60_000, factor: 1 });
    const client = new WebClient('xoxb-test', { ...slack.options, logLevel: LogLevel.ERROR });
    const settled = client.conversations.list().then(() => 'resolved', (err: Error) => err.message);
    await eventually(async () => calls === 1);
    slack.stop();
    expect(await settled).toMatch(/abort/i);
    await expect(client.auth.test()).rejects.toThrow(/abort/i);
    expect(calls).toBe(1);
  });
});

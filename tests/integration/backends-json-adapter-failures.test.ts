import type http from 'node:http';
import type net from 'node:net';
import axios, { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { freePort, listen, type RunningServer } from '../../lib/http';
import { isBreakerFailure, outcomeOf, toCodedError } from '../../server/backends/backend-errors';
import { createBackendHttp } from '../../server/backends/backend-http';
import { createPooledAgent } from '../../server/backends/http-agent';
import { jsonAdapter } from '../../server/backends/json-adapter';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * server/backends/json-adapter.ts when calls go wrong, over real HTTP:
 * timeouts, cancellation, refused and reset connections, and what happens to
 * the keep-alive pool in each case. No assertion here depends on how fast
 * the machine is: waits are on events (a request arriving, a socket closing).
 */
describe('JSON axios adapter: failures and the pool', () => {
  let backend: RunningServer;
  let handler: Handler = (_req, res) => res.end('{}');
  /** Every server-side socket, with a promise that settles when it closes. */
  const sockets = new Map<number, Promise<void>>();
  let arrived: () => void = () => {};
  const agents: http.Agent[] = [];

  beforeAll(async () => {
    backend = await listen((req, res) => {
      arrived();
      req.resume();
      req.on('end', () => handler(req, res));
    }, 0);
    backend.server.on('connection', (socket: net.Socket) => {
      sockets.set(socket.remotePort!, new Promise((resolve) => socket.once('close', () => resolve())));
    });
  });
  afterAll(async () => {
    for (const a of agents) a.destroy();
    await backend.close();
  });
  beforeEach(() => {
    sockets.clear();
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });

  function client(options: { timeoutMs?: number; baseUrl?: string } = {}) {
    const baseUrl = options.baseUrl ?? backend.url;
    const agent = createPooledAgent(baseUrl, { maxFreeSockets: 2, maxSockets: 2, connectTimeoutMs: 1000 });
    agents.push(agent);
    return { agent, http: createBackendHttp({ baseUrl, timeoutMs: options.timeoutMs ?? 5000, agent }) };
  }
  const nextArrival = () => new Promise<void>((resolve) => (arrived = resolve));
  async function caught(p: Promise<unknown>): Promise<AxiosError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(axios.isAxiosError(err)).toBe(true);
    return err as AxiosError;
  }

  test('sequential calls reuse one keep-alive socket, a refused status (404) included', async () => {
    const { http: api, agent } = client();
    let n = 0;
    handler = (_req, res) => {
      n += 1;
      res.writeHead(n === 3 ? 404 : 200, { 'content-type': 'application/json' }).end(n === 3 ? '{"error":{"code":"not_found"}}' : '{"ok":true}');
    };
    for (let i = 0; i < 6; i += 1) await api.request({ url: '/x' }).catch((e: unknown) => e);
    expect(n).toBe(6);
    expect(sockets.size).toBe(1);
    const free = Object.values(agent.freeSockets).flat();
    expect(free).toHaveLength(1);
  });

  test('a call slower than the timeout fails ECONNABORTED, and its socket is destroyed, not pooled', async () => {
    const { http: api, agent } = client({ timeoutMs: 100 });
    await api.request({ url: '/warm' });
    const [warmPort] = [...sockets.keys()];
    handler = () => {}; // never answers
    const err = await caught(api.request({ url: '/slow' }));
    expect(err.code).toBe(AxiosError.ECONNABORTED);
    expect(err.message).toBe('timeout of 100ms exceeded');
    expect(err.response).toBeUndefined();
    expect(outcomeOf(err)).toBe('timeout');
    expect(isBreakerFailure(err)).toBe(true);
    expect(toCodedError('account-service', err).message).toMatch(/timed out.*100ms/);
    await sockets.get(warmPort!); // the server sees the socket close
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(0);

    handler = (_req, res) => res.end('{"ok":true}');
    expect((await api.request({ url: '/after' })).data).toEqual({ ok: true });
    expect(sockets.size).toBe(2);
  });

  test('the timeout covers the body too: headers then silence is a timeout', async () => {
    const { http: api } = client({ timeoutMs: 100 });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
    };
    const err = await caught(api.request({ url: '/trickle' }));
    expect(err.code).toBe(AxiosError.ECONNABORTED);
    expect(err.response).toBeUndefined();
    await Promise.all(sockets.values());
  });

  test('aborting the signal cancels with CanceledError, which is no breaker failure, and closes the socket', async () => {
    const { http: api } = client();
    handler = () => {};
    const controller = new AbortController();
    const there = nextArrival();
    const call = api.request({ url: '/hang', signal: controller.signal });
    await there;
    controller.abort();
    const err = await caught(call);
    expect(axios.isCancel(err)).toBe(true);
    expect(err.code).toBe(AxiosError.ERR_CANCELED);
    expect(outcomeOf(err)).toBe('cancelled');
    expect(isBreakerFailure(err)).toBe(false);
    await Promise.all(sockets.values());
  });

  test('an already aborted signal cancels before anything is sent', async () => {
    let requests = 0;
    handler = (_req, res) => {
      requests += 1;
      res.end('{}');
    };
    const config = { baseURL: backend.url, url: '/x', method: 'get', headers: new AxiosHeaders(), signal: AbortSignal.abort() } as InternalAxiosRequestConfig;
    const err = await caught(jsonAdapter(config));
    expect(axios.isCancel(err)).toBe(true);
    // A plain call after it reaches the server: the cancelled one never did.
    await jsonAdapter({ ...config, signal: undefined });
    expect(requests).toBe(1);
  });

  test('a refused connection fails ECONNREFUSED without a response', async () => {
    const { http: api } = client({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    const err = await caught(api.request({ url: '/x' }));
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.response).toBeUndefined();
    expect(outcomeOf(err)).toBe('connection_error');
    expect(isBreakerFailure(err)).toBe(true);
    expect(toCodedError('account-service', err).message).toMatch(/could not connect/);
  });

  test('a connection reset before the answer fails ECONNRESET', async () => {
    const { http: api } = client();
    handler = (req) => req.socket.destroy();
    const err = await caught(api.request({ url: '/x' }));
    expect(err.code).toBe('ECONNRESET');
    expect(err.response).toBeUndefined();
    expect(outcomeOf(err)).toBe('connection_error');
  });

  test('an answer cut off mid-body is a connection failure, not an answer', async () => {
    const { http: api } = client();
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":', () => req.socket.destroy());
    };
    const err = await caught(api.request({ url: '/x' }));
    expect(err.code).toBe('ECONNRESET');
    expect(err.response).toBeUndefined();
    expect(outcomeOf(err)).toBe('connection_error');
    expect(isBreakerFailure(err)).toBe(true);
  });
});

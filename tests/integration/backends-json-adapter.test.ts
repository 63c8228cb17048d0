import type http from 'node:http';
import zlib from 'node:zlib';
import axios, { Axios, AxiosError } from 'axios';
import { listen, type RunningServer } from '../../lib/http';
import { isBreakerFailure, outcomeOf } from '../../server/backends/backend-errors';
import { createBackendHttp } from '../../server/backends/backend-http';
import { createPooledAgent } from '../../server/backends/http-agent';
import { jsonAdapter } from '../../server/backends/json-adapter';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/**
 * server/backends/json-adapter.ts over real HTTP: how answers are read and
 * settled (status, body, URL, headers, size caps, encodings), and that the
 * errors keep the shape backend-errors.ts classifies.
 */
describe('JSON axios adapter: answers', () => {
  let backend: RunningServer;
  let handler: Handler = (_req, res) => res.end();
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const agents: http.Agent[] = [];

  beforeAll(async () => {
    backend = await listen((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        handler(req, res, body);
      });
    }, 0);
  });
  afterAll(async () => {
    for (const a of agents) a.destroy();
    await backend.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  function client(baseUrl = backend.url) {
    const agent = createPooledAgent(baseUrl, { maxFreeSockets: 2, maxSockets: 4, connectTimeoutMs: 1000 });
    agents.push(agent);
    return createBackendHttp({ baseUrl, timeoutMs: 5000, agent });
  }
  const json = (status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): Handler => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  async function caught(p: Promise<unknown>): Promise<AxiosError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(axios.isAxiosError(err)).toBe(true);
    return err as AxiosError;
  }

  test('a 2xx JSON answer resolves parsed, with status, headers and the request', async () => {
    handler = json(201, { id: 'txn_1', amount: { amountMinor: 5, currency: 'EUR' } }, { 'x-trace': 'abc' });
    const res = await client().request({ method: 'GET', url: '/transactions/txn_1' });
    expect(res.status).toBe(201);
    expect(res.data).toEqual({ id: 'txn_1', amount: { amountMinor: 5, currency: 'EUR' } });
    expect(res.headers['x-trace']).toBe('abc');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.config.url).toBe('/transactions/txn_1');
  });

  test('the body is parsed once: a JSON string stays a string, an empty body is empty, a BOM is dropped', async () => {
    handler = json(200, JSON.stringify('123'));
    expect((await client().request({ url: '/x' })).data).toBe('123');
    handler = (_req, res) => res.writeHead(204).end();
    expect((await client().request({ url: '/x' })).data).toBe('');
    handler = json(200, '\ufeff{"ok":true}');
    expect((await client().request({ url: '/x' })).data).toEqual({ ok: true });
  });

  test('a body that is not JSON stays text (the caller refuses it); a 5xx with HTML is a server error', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>');
    expect((await client().request({ url: '/x' })).data).toBe('<html>oops</html>');
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>bad gateway</h1>');
    const err = await caught(client().request({ url: '/x' }));
    expect(err.code).toBe(AxiosError.ERR_BAD_RESPONSE);
    expect(err.response?.status).toBe(502);
    expect(err.response?.data).toBe('<h1>bad gateway</h1>');
    expect(outcomeOf(err)).toBe('server_error');
    expect(isBreakerFailure(err)).toBe(true);
  });

  test('validateStatus as axios settles: 4xx is ERR_BAD_REQUEST with the parsed body, 3xx is not followed', async () => {
    handler = json(404, { error: { code: 'account_not_found', message: 'no acc_9' } });
    const notFound = await caught(client().request({ url: '/accounts/acc_9' }));
    expect(notFound.code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect(notFound.message).toBe('Request failed with status code 404');
    expect(notFound.response?.status).toBe(404);
    expect(notFound.response?.data).toEqual({ error: { code: 'account_not_found', message: 'no acc_9' } });
    expect(outcomeOf(notFound)).toBe('business_error');
    expect(isBreakerFailure(notFound)).toBe(false);

    handler = (_req, res) => res.writeHead(302, { location: `${backend.url}/elsewhere` }).end();
    const redirect = await caught(client().request({ url: '/moved' }));
    expect(redirect.code).toBe(AxiosError.ERR_BAD_RESPONSE);
    expect(redirect.response?.status).toBe(302);
    expect(seen.map((s) => s.url)).toEqual(['/accounts/acc_9', '/moved']);
  });

  test('a validateStatus that accepts everything, or none at all, resolves a 404', async () => {
    handler = json(404, { error: { code: 'not_found' } });
    const all = new Axios({ adapter: jsonAdapter, baseURL: backend.url, validateStatus: () => true });
    expect((await all.request({ url: '/x' })).status).toBe(404);
    const none = new Axios({ adapter: jsonAdapter, baseURL: backend.url, validateStatus: null });
    expect((await none.request({ url: '/x' })).data).toEqual({ error: { code: 'not_found' } });
  });

  test('the URL is the one axios builds: base path, params through its serializer, no absolute override', async () => {
    handler = json(200, {});
    const base = `${backend.url}/api/v1/`;
    const config = {
      url: '/transactions',
      params: { accountId: 'acc 1/2', from: '2026-01-01T00:00:00Z', status: undefined, tags: ['a', 'b'], q: `a'b"c<>|^\`{}` },
    };
    await client(base).request(config);
    // The reference: the same request through axios's own Node adapter.
    await new Axios({ adapter: 'http', baseURL: base, proxy: false, maxRedirects: 0 }).request(config);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.url).toBe(seen[1]!.url);
    expect(seen[0]!.url).toMatch(/^\/api\/v1\/transactions\?accountId=acc\+1%2F2&from=2026-01-01T00:00:00Z&tags%5B%5D=a&tags%5B%5D=b&q=/);

    await client(base).request({ url: 'http://169.254.169.254/latest' });
    expect(seen[2]!.url).toBe('/api/v1/http://169.254.169.254/latest');
  });

  test('basic auth from the config or the URL, as axios sends it', async () => {
    handler = json(200, {});
    const withUser = new URL(backend.url);
    withUser.username = 'svc';
    withUser.password = 'p@ss word';
    await client(withUser.toString()).request({ url: '/x', headers: { Authorization: 'Bearer dropped' } });
    await client().request({ url: '/x', auth: { username: 'cfg', password: 'pw' } });
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(seen.map((s) => s.headers.authorization)).toEqual([basic('svc:p@ss word'), basic('cfg:pw')]);
  });

  test('what is sent: method, JSON body with its length, our headers, and no body on a GET', async () => {
    handler = json(200, {});
    await client().request({ method: 'POST', url: '/transfers', data: { amount: { amountMinor: 5, currency: 'EUR' }, note: 'café' }, headers: { 'Idempotency-Key': 'k-1' } });
    await client().request({ method: 'GET', url: '/accounts' });
    const [post, get] = seen;
    expect(post).toMatchObject({ method: 'POST', url: '/transfers' });
    expect(JSON.parse(post!.body)).toEqual({ amount: { amountMinor: 5, currency: 'EUR' }, note: 'café' });
    expect(post!.headers['content-type']).toMatch(/^application\/json/);
    expect(post!.headers['content-length']).toBe(String(Buffer.byteLength(post!.body)));
    expect(post!.headers['idempotency-key']).toBe('k-1');
    expect(post!.headers.accept).toBe('application/json');
    expect(post!.headers['accept-encoding']).toBe('identity');
    expect(post!.headers['user-agent']).toBe(`axios/${axios.VERSION}`);
    expect(get).toMatchObject({ method: 'GET', body: '' });
    expect(get!.headers['content-type']).toBeUndefined();
    expect(get!.headers['content-length']).toBeUndefined();
  });

  test('a compressed answer is decoded (gzip, deflate, br)', async () => {
    const body = JSON.stringify({ ok: true, pad: 'x'.repeat(500) });
    const encoders: Record<string, (b: string) => Buffer> = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync };
    for (const [encoding, encode] of Object.entries(encoders)) {
      handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(encode(body));
      const res = await client().request({ url: '/x' });
      expect(res.data).toEqual({ ok: true, pad: 'x'.repeat(500) });
      expect(res.headers['content-encoding']).toBeUndefined();
    }
  });

  test('maxContentLength and maxBodyLength are enforced, without a response to read', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(2000) }));
    const small = new Axios({ adapter: jsonAdapter, baseURL: backend.url, maxContentLength: 1000, maxBodyLength: 100 });
    const big = await caught(small.request({ url: '/big' }));
    expect(big.code).toBe(AxiosError.ERR_BAD_RESPONSE);
    expect(big.message).toBe('maxContentLength size of 1000 exceeded');
    expect(big.response).toBeUndefined();

    seen.length = 0;
    const sent = await caught(small.request({ method: 'POST', url: '/upload', data: 'y'.repeat(101) }));
    expect(sent.code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect(sent.message).toBe('Request body larger than maxBodyLength limit');
    expect(seen).toHaveLength(0);
  });

  test('a header value with a line break cannot add a header', async () => {
    handler = json(200, {});
    await client().request({ url: '/x', headers: { 'X-Evil': 'a\r\nInjected: 1' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.injected).toBeUndefined();
  });
});

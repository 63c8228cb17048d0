import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import {
  Axios,
  AxiosError,
  AxiosHeaders,
  CanceledError,
  VERSION,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

/**
 * An axios adapter for our backend calls: small JSON over a pooled keep-alive
 * agent, straight on Node's `http.request`.
 *
 * Why: axios's own Node adapter runs a general pipeline on every call (own-
 * property config reads, URL re-parsing, proxy and redirect set-up, stream
 * plumbing, per-socket listener bookkeeping); on this server that was ~100 µs
 * of CPU per call, the largest cost left per tool call. This adapter does
 * only what a backend call needs and keeps axios's contract where the rest of
 * server/backends reads it:
 *  - the URL is the one axios's Node adapter requests (`getUri`: baseURL +
 *    url with `allowAbsoluteUrls`, then params through its serializer);
 *    basic auth from `auth` or the URL as axios sends it;
 *  - the body is what `transformRequest` produced (a string or bytes),
 *    capped by `maxBodyLength`;
 *  - the answer is read whole, capped by `maxContentLength`, decoded when
 *    compressed (`decompress`), and JSON-parsed once: an empty body is '',
 *    an unparsable one stays a string (the caller's schema refuses it). The
 *    instance must therefore not JSON-parse again in `transformResponse`;
 *  - `validateStatus` is applied as axios's `settle` does (ERR_BAD_REQUEST
 *    for 4xx, ERR_BAD_RESPONSE otherwise, `response` attached);
 *  - `timeout` is one wall-clock timer for the whole call (connect, headers
 *    and body); when it fires the request and its socket are destroyed and
 *    the call fails with ECONNABORTED (ETIMEDOUT with clarifyTimeoutError),
 *    message "timeout of Nms exceeded", as axios's;
 *  - `signal` / `cancelToken` cancel with axios's CanceledError;
 *  - socket errors (ECONNREFUSED, ECONNRESET, the agent's connect timeout)
 *    become AxiosErrors carrying the socket's code and no `response`.
 * One difference from axios, on purpose: a body cut off after the headers
 * (the backend died mid-answer) fails with the socket's error and no
 * `response`, so it counts as a connection failure, not as an answer.
 * Not supported (not needed here, refused rather than ignored where it would
 * matter): proxies, redirects (as maxRedirects 0), streams, responseType
 * other than json/text, socketPath.
 */
export const jsonAdapter: AxiosAdapter = (config) =>
  new Promise<AxiosResponse>((resolve, reject) => {
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const cleanup = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      config.signal?.removeEventListener?.('abort', onAbort);
      config.cancelToken?.unsubscribe(onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      cleanup();
      // A request given up on must not hand its socket back to the pool mid-answer.
      if (req && !req.destroyed) req.destroy();
      reject(err);
    };
    function onAbort() {
      fail(new CanceledError(undefined, config, req));
    }

    if (config.signal?.aborted) return onAbort();
    config.signal?.addEventListener?.('abort', onAbort);
    config.cancelToken?.subscribe(onAbort);

    try {
      const target = new URL(fullPath(config));
      const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!transport || config.socketPath) throw new AxiosError(`Unsupported protocol ${target.protocol}`, AxiosError.ERR_BAD_REQUEST, config);
      if (config.responseType && config.responseType !== 'json' && config.responseType !== 'text') {
        throw new AxiosError(`responseType ${config.responseType} is not supported by the JSON adapter`, AxiosError.ERR_BAD_OPTION_VALUE, config);
      }
      const body = requestBody(config);
      const headers = AxiosHeaders.from(config.headers);
      headers.set('User-Agent', `axios/${VERSION}`, false);
      if (body) headers.setContentLength(body.length);
      const auth = basicAuth(config, target);
      if (auth) headers.delete('authorization');
      const method = (config.method ?? 'get').toUpperCase();

      req = transport.request({
        protocol: target.protocol,
        hostname: target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname,
        port: target.port,
        path: requestPath(config, target),
        auth,
        method,
        headers: headers.toJSON(true) as http.OutgoingHttpHeaders,
        agent: transport === https ? config.httpsAgent : config.httpAgent,
        insecureHTTPParser: false,
      });
      const request = req;
      request.on('error', (err) => fail(AxiosError.from(err, undefined, config, request)));
      const settle = (err: unknown, response?: AxiosResponse) => {
        if (settled) return;
        cleanup();
        if (err) reject(err);
        else resolve(response!);
      };
      request.on('response', (res) => readResponse(res, request, method, config, { settle, fail }));

      const timeout = config.timeout ?? 0;
      if (timeout > 0) {
        timer = setTimeout(() => {
          const message = config.timeoutErrorMessage || `timeout of ${timeout}ms exceeded`;
          const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
          fail(new AxiosError(message, code, config, request));
        }, timeout);
      }
      request.end(body);
    } catch (err) {
      fail(err instanceof AxiosError ? err : AxiosError.from(err as Error, AxiosError.ERR_BAD_REQUEST, config, req));
    }
  });

interface Settlers {
  /** Ends the call with the answer read whole (or refused by validateStatus); the socket goes back to the pool. */
  settle(err: unknown, response?: AxiosResponse): void;
  /** Ends the call with an error and destroys the request and its socket. */
  fail(err: unknown): void;
}

function readResponse(res: http.IncomingMessage, req: http.ClientRequest, method: string, config: InternalAxiosRequestConfig, s: Settlers): void {
  const status = res.statusCode ?? 0;
  let stream: Readable = res;
  const encoding = config.decompress !== false && method !== 'HEAD' && status !== 204 ? res.headers['content-encoding'] : undefined;
  const decoder = encoding ? decoderFor(encoding) : undefined;
  if (decoder) {
    delete res.headers['content-encoding'];
    res.on('error', (err) => decoder.destroy(err));
    stream = res.pipe(decoder);
  }

  const max = config.maxContentLength ?? -1;
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (max > -1 && size > max) {
      s.fail(new AxiosError(`maxContentLength size of ${max} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req));
      return;
    }
    chunks.push(chunk);
  });
  stream.on('error', (err) => s.fail(AxiosError.from(err, undefined, config, req)));
  // The backend died mid-answer: a connection failure, not an answer (see above).
  res.on('aborted', () => s.fail(new AxiosError('backend closed the connection mid-response', 'ECONNRESET', config, req)));
  stream.on('end', () => {
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
    const response: AxiosResponse = {
      data: parseJson(text),
      status,
      statusText: res.statusMessage ?? '',
      headers: res.headers as AxiosResponse['headers'],
      config,
      request: req,
    };
    const validate = config.validateStatus;
    if (!status || !validate || validate(status)) return s.settle(undefined, response);
    // As axios's settle(): the answer is complete, so the socket stays pooled.
    const code = status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
    s.settle(new AxiosError(`Request failed with status code ${status}`, code, config, req, response));
  });
}

// getUri merges its defaults with the config first; an instance without defaults keeps that to the fields we pass.
const uriBuilder = new Axios({});

/** baseURL + url exactly as axios joins them (allowAbsoluteUrls honoured, malformed protocols refused). */
function fullPath(config: InternalAxiosRequestConfig): string {
  return uriBuilder.getUri({ baseURL: config.baseURL, url: config.url, allowAbsoluteUrls: config.allowAbsoluteUrls });
}

/**
 * The request path as axios's Node adapter sends it: the parsed URL's path
 * and query, then `params` through axios's serializer (not re-encoded by URL).
 */
function requestPath(config: InternalAxiosRequestConfig, target: URL): string {
  const path = target.pathname + target.search;
  if (config.params === undefined && config.paramsSerializer === undefined) return path;
  return uriBuilder.getUri({ url: path, params: config.params, paramsSerializer: config.paramsSerializer }).replace(/^\?/, '');
}

/** Basic auth as axios sends it: `auth` in the config first, else user:password in the URL. */
function basicAuth(config: InternalAxiosRequestConfig, target: URL): string | undefined {
  if (config.auth) return `${config.auth.username ?? ''}:${config.auth.password ?? ''}`;
  if (!target.username && !target.password) return undefined;
  return `${safeDecode(target.username)}:${safeDecode(target.password)}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function requestBody(config: InternalAxiosRequestConfig): Buffer | undefined {
  const data: unknown = config.data;
  if (data === undefined || data === null || data === '') return undefined;
  let body: Buffer;
  if (typeof data === 'string') body = Buffer.from(data, 'utf8');
  else if (Buffer.isBuffer(data)) body = data;
  else if (data instanceof Uint8Array || data instanceof ArrayBuffer) body = Buffer.from(data as Uint8Array);
  else throw new AxiosError('request data after transformRequest must be a string or bytes', AxiosError.ERR_BAD_REQUEST, config);
  const max = config.maxBodyLength ?? -1;
  if (max > -1 && body.length > max) throw new AxiosError('Request body larger than maxBodyLength limit', AxiosError.ERR_BAD_REQUEST, config);
  return body;
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Unzip | zlib.BrotliDecompress | undefined {
  switch (encoding.toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
    case 'deflate':
      // Unzip reads gzip and zlib-wrapped deflate alike; flush settings as axios's, so a truncated tail still yields what came.
      return zlib.createUnzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}

/** One JSON.parse; an empty body is '' and an unparsable one stays text. */
function parseJson(text: string): unknown {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (t === '') return '';
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

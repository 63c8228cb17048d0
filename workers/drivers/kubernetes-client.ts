import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { KubeCredentials } from './kubernetes-credentials';
import { pause } from './wait';

/**
 * The few Kubernetes API calls the driver makes, over node's http/https:
 * bearer token or client certificate, the cluster's CA, a timeout on every
 * call, GETs retried on network errors and 5xx, and the API's `Status`
 * answers turned into one line with a stable code.
 */
export interface KubeRequest {
  method: 'GET' | 'PATCH';
  path: string;
  /** Names the object in messages: "deployment ns/name". */
  what: string;
  body?: unknown;
  contentType?: 'application/strategic-merge-patch+json' | 'application/merge-patch+json';
  signal?: AbortSignal;
}

export interface KubeClient {
  request<T>(req: KubeRequest, schema: z.ZodType<T>): Promise<T>;
  close(): void;
}

const StatusSchema = z.object({ kind: z.literal('Status'), message: z.string().default(''), reason: z.string().default(''), code: z.number().optional() });

const REQUEST_TIMEOUT_MS = 10_000;

export function createKubeClient(creds: KubeCredentials): KubeClient {
  const url = new URL(creds.server);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 4, ca: creds.ca, cert: creds.cert, key: creds.key, rejectUnauthorized: !creds.insecureSkipTlsVerify })
    : new http.Agent({ keepAlive: true, maxSockets: 4 });
  const basePath = url.pathname.replace(/\/+$/, '');

  function once(req: KubeRequest): Promise<{ status: number; text: string }> {
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'mcp-financial-ops-workers' };
    if (creds.token) headers.Authorization = `Bearer ${creds.token()}`;
    if (body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/merge-patch+json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const signal = req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      const r = (secure ? https : http).request(
        { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (secure ? 443 : 80), path: basePath + req.path, method: req.method, headers, agent, signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 8 * 1024 * 1024) r.destroy(new Error('answer larger than 8 MB'));
            else chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  }

  function failure(req: KubeRequest, status: number, text: string): CodedError {
    let message = text.slice(0, 300);
    let reason = '';
    try {
      const s = StatusSchema.safeParse(JSON.parse(text));
      if (s.success) ({ message, reason } = s.data);
    } catch {
      // not JSON: keep the text
    }
    const details = { status, reason, message };
    if (status === 401) return new CodedError(ErrorCode.Unauthorized, `the kubernetes API refused our credentials (${message || 'Unauthorized'}; ${creds.source})`, details);
    if (status === 403) return new CodedError(ErrorCode.Forbidden, `the kubernetes API refused our credentials (forbidden: ${message})`, details);
    if (status === 404) return new CodedError(ErrorCode.NotFound, `${req.what} not found`, details);
    if (status === 409) return new CodedError(ErrorCode.Conflict, `${req.what} changed while we updated it (${message})`, details);
    if (status === 422 || status === 400) return new CodedError(ErrorCode.ValidationFailed, `the kubernetes API rejected the change to ${req.what}: ${message}`, details);
    return new CodedError(ErrorCode.BackendUnavailable, `the kubernetes API answered ${status} to ${req.method} ${req.what}: ${message || reason}`, details);
  }

  async function request<T>(req: KubeRequest, schema: z.ZodType<T>): Promise<T> {
    // Only GETs are retried: a PATCH that timed out may have been applied.
    const attempts = req.method === 'GET' ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      let answer: { status: number; text: string };
      try {
        answer = await once(req);
      } catch (err) {
        if (req.signal?.aborted) throw new CodedError(ErrorCode.BackendUnavailable, 'the action ran out of time (its job was cancelled)');
        const e = err as NodeJS.ErrnoException;
        const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : (e.code ?? e.message);
        if (attempt < attempts) {
          await pause(200 * attempt, req.signal);
          continue;
        }
        throw new CodedError(ErrorCode.BackendUnavailable, `cannot reach the kubernetes API at ${creds.server} (${why})`);
      }
      if (answer.status >= 200 && answer.status < 300) {
        let json: unknown;
        try {
          json = JSON.parse(answer.text);
        } catch {
          throw new CodedError(ErrorCode.BackendUnavailable, `the kubernetes API answered ${req.method} ${req.what} with something that is not JSON`);
        }
        const parsed = schema.safeParse(json);
        if (!parsed.success) throw new CodedError(ErrorCode.BackendUnavailable, `unexpected answer for ${req.what}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
        return parsed.data;
      }
      if ((answer.status >= 500 || answer.status === 429) && attempt < attempts) {
        await pause(200 * attempt, req.signal);
        continue;
      }
      throw failure(req, answer.status, answer.text);
    }
  }

  return { request, close: () => agent.destroy() };
}

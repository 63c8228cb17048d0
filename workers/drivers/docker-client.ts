import http from 'node:http';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';

/**
 * The Docker Engine API over its unix socket, with node's http: a timeout on
 * every call, the Engine's `{"message": ...}` errors turned into one line
 * with a stable code. Pinned to API v1.43 (Docker 24+), which the Engine
 * serves for newer versions too.
 */
export const DOCKER_API_VERSION = 'v1.43';

export interface DockerAnswer {
  status: number;
  text: string;
}

export interface DockerRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DockerClient {
  /** Resolves with any status; throws only when the Engine cannot be reached or does not answer in time. */
  call(req: DockerRequest): Promise<DockerAnswer>;
  close(): void;
}

const ErrorBodySchema = z.object({ message: z.string() });

/** The Engine's own sentence for a failed call, or the start of its body. */
export function engineMessage(answer: DockerAnswer): string {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(answer.text));
    if (parsed.success) return parsed.data.message;
  } catch {
    // not JSON
  }
  return answer.text.slice(0, 200) || `HTTP ${answer.status}`;
}

/** A CodedError for an answer the caller did not expect. */
export function engineError(answer: DockerAnswer, doing: string): CodedError {
  const message = `${doing}: the Docker Engine says: ${engineMessage(answer)}`;
  const code =
    answer.status === 404
      ? ErrorCode.NotFound
      : answer.status === 409
        ? ErrorCode.Conflict
        : answer.status === 400
          ? ErrorCode.ValidationFailed
          : answer.status === 401 || answer.status === 403
            ? ErrorCode.Forbidden
            : ErrorCode.BackendUnavailable;
  return new CodedError(code, message, { status: answer.status });
}

export function createDockerClient(options: { socketPath: string; defaultTimeoutMs?: number }): DockerClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const defaultTimeout = options.defaultTimeoutMs ?? 15_000;

  return {
    call(req) {
      const timeoutMs = req.timeoutMs ?? defaultTimeout;
      const qs = req.query ? `?${new URLSearchParams(req.query).toString()}` : '';
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const headers: Record<string, string> = { Host: 'docker', Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      const signal = req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
      return new Promise((resolve, reject) => {
        const r = http.request({ socketPath: options.socketPath, path: `/${DOCKER_API_VERSION}${req.path}${qs}`, method: req.method, headers, agent, signal }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // A pull streams progress; keep the tail, where the outcome is.
            chunks.push(c);
            while (size > 4 * 1024 * 1024 && chunks.length > 1) size -= chunks.shift()!.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        r.on('error', (err: NodeJS.ErrnoException) => {
          if (req.signal?.aborted) return reject(new CodedError(ErrorCode.BackendUnavailable, 'the action ran out of time (its job was cancelled)'));
          if (err.name === 'TimeoutError' || err.name === 'AbortError') {
            return reject(new CodedError(ErrorCode.BackendUnavailable, `the Docker Engine did not answer ${req.method} ${req.path} within ${Math.round(timeoutMs / 1000)} s`));
          }
          reject(
            new CodedError(ErrorCode.BackendUnavailable, `cannot reach the Docker Engine at ${options.socketPath} (${err.code ?? err.message}); is dockerd running and its socket mounted here?`),
          );
        });
        r.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

import type { AxiosRequestConfig } from 'axios';
import type { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { isBreakerFailure, outcomeOf, toCodedError } from './backend-errors';
import { createBackendHttp } from './backend-http';
import type { BackendMetrics, BackendOutcome } from './backend-metrics';
import type { CircuitBreaker } from './circuit-breaker';
import { createPooledAgent, type PoolOptions } from './http-agent';
import { HealthBodySchema } from './schemas';
import type { BackendHealth, BackendName, CallOptions } from './types';

export interface ServiceClientOptions {
  service: BackendName;
  baseUrl: string;
  /** Response timeout in ms (HTTP_TIMEOUT). */
  timeoutMs: number;
  pool: PoolOptions;
  breaker: CircuitBreaker;
  metrics: BackendMetrics;
  logger: Logger;
}

export interface ServiceClient {
  readonly service: BackendName;
  readonly breaker: CircuitBreaker;
  /** One call through the breaker, timed, its answer parsed with `schema`. */
  request<S extends z.ZodType>(operation: string, config: AxiosRequestConfig, schema: S, options?: CallOptions): Promise<z.output<S>>;
  /** Same, also giving the HTTP status (e.g. 201 created vs 200 replayed). */
  call<S extends z.ZodType>(operation: string, config: AxiosRequestConfig, schema: S, options?: CallOptions): Promise<{ data: z.output<S>; status: number }>;
  /** GET /health through the breaker: an open breaker reports unhealthy without a probe. */
  health(): Promise<BackendHealth>;
  close(): void;
}

/**
 * One backend service: a pooled keep-alive axios instance behind its circuit
 * breaker. Every call is timed into `backend_request_duration_seconds` with
 * its outcome, and every failure leaves as a CodedError.
 */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  const { service, breaker, metrics, logger } = options;
  const agent = createPooledAgent(options.baseUrl, options.pool);
  const http = createBackendHttp({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, agent });
  // One histogram child per (operation, outcome), so a call does not hash its labels.
  const timers = new Map<string, { observe(seconds: number): void }>();
  const observe = (operation: string, outcome: BackendOutcome, seconds: number) => {
    const key = `${operation}\0${outcome}`;
    let child = timers.get(key);
    if (!child) timers.set(key, (child = metrics.duration.labels({ service, operation, outcome })));
    child.observe(seconds);
  };

  async function call<S extends z.ZodType>(
    operation: string,
    config: AxiosRequestConfig,
    schema: S,
    callOptions: CallOptions = {},
  ): Promise<{ data: z.output<S>; status: number }> {
    const started = process.hrtime.bigint();
    let outcome: BackendOutcome = 'success';
    try {
      const res = await breaker.execute(() => http.request({ ...config, signal: callOptions.signal }), isBreakerFailure);
      const parsed = schema.safeParse(res.data);
      if (!parsed.success) {
        outcome = 'bad_response';
        throw new CodedError(ErrorCode.BackendUnavailable, `${service} sent an unexpected ${operation} response`, {
          service,
          issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
        });
      }
      return { data: parsed.data, status: res.status };
    } catch (err) {
      if (outcome === 'success') outcome = outcomeOf(err);
      const coded = toCodedError(service, err);
      if (outcome !== 'business_error') logger.warn({ service, operation, outcome, code: coded.code }, coded.message);
      throw coded;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      observe(operation, outcome, seconds);
    }
  }

  async function request<S extends z.ZodType>(operation: string, config: AxiosRequestConfig, schema: S, callOptions?: CallOptions): Promise<z.output<S>> {
    return (await call(operation, config, schema, callOptions)).data;
  }

  async function health(): Promise<BackendHealth> {
    const started = Date.now();
    const base = { service, url: options.baseUrl };
    try {
      await request('health', { method: 'GET', url: '/health' }, HealthBodySchema);
      return { ...base, healthy: true, latencyMs: Date.now() - started, breaker: breaker.status().state };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ...base, healthy: false, latencyMs: Date.now() - started, breaker: breaker.status().state, error: message };
    }
  }

  return {
    service,
    breaker,
    request,
    call,
    health,
    close: () => agent.destroy(),
  };
}

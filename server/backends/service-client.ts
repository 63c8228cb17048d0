import axios, { type AxiosRequestConfig } from 'axios';
import type { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { isBreakerFailure, outcomeOf, toCodedError } from './backend-errors';
import type { BackendMetrics } from './backend-metrics';
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
  const http = axios.create({
    baseURL: options.baseUrl,
    timeout: options.timeoutMs,
    httpAgent: agent,
    httpsAgent: agent,
    // Backends answer small JSON; cap what a broken one can make us buffer.
    maxContentLength: 4 * 1024 * 1024,
    maxRedirects: 0,
    transitional: { clarifyTimeoutError: true },
    headers: { Accept: 'application/json' },
  });

  async function call<S extends z.ZodType>(
    operation: string,
    config: AxiosRequestConfig,
    schema: S,
    callOptions: CallOptions = {},
  ): Promise<{ data: z.output<S>; status: number }> {
    const started = process.hrtime.bigint();
    let outcome: ReturnType<typeof outcomeOf> = 'success';
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
      metrics.duration.observe({ service, operation, outcome }, seconds);
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

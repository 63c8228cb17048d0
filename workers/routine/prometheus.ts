import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';

/**
 * A small client for Prometheus's HTTP API (instant and range queries). Every
 * answer is parsed with zod; a refusal (bad expression, timeout) is a
 * CodedError carrying Prometheus's own error text.
 */
const SampleValue = z.tuple([z.number(), z.string()]);

const VectorSchema = z.object({
  resultType: z.literal('vector'),
  result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: SampleValue })),
});
const ScalarSchema = z.object({ resultType: z.literal('scalar'), result: SampleValue });
const MatrixSchema = z.object({
  resultType: z.literal('matrix'),
  result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(SampleValue) })),
});
const ResponseSchema = z.union([
  z.object({ status: z.literal('success'), data: z.unknown() }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Series {
  metric: Record<string, string>;
  /** [epoch seconds, value] */
  points: Array<[number, number]>;
}

export function createPrometheusClient(baseUrl: string, options: { timeoutMs?: number } = {}) {
  const http: AxiosInstance = axios.create({ baseURL: baseUrl.replace(/\/$/, ''), timeout: options.timeoutMs ?? 10_000, validateStatus: () => true, proxy: false });

  async function api(path: string, params: Record<string, string>): Promise<unknown> {
    let res;
    try {
      res = await http.get(path, { params });
    } catch (err) {
      throw new CodedError(ErrorCode.BackendUnavailable, `Prometheus at ${baseUrl} unreachable: ${(err as Error).message}`);
    }
    const parsed = ResponseSchema.safeParse(res.data);
    if (!parsed.success) throw new CodedError(ErrorCode.BackendUnavailable, `Prometheus answered HTTP ${res.status} with an unexpected body`);
    if (parsed.data.status === 'error') throw new CodedError(ErrorCode.ValidationFailed, `Prometheus refused ${params.query}: ${parsed.data.error}`);
    return parsed.data.data;
  }

  /** An instant query; a scalar comes back as one sample without labels. */
  async function query(expr: string, at?: Date): Promise<Sample[]> {
    const data = await api('/api/v1/query', { query: expr, ...(at ? { time: (at.getTime() / 1000).toFixed(3) } : {}) });
    const scalar = ScalarSchema.safeParse(data);
    if (scalar.success) return [{ metric: {}, value: Number(scalar.data.result[1]) }];
    const vector = VectorSchema.parse(data);
    return vector.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** A range query from `start` to `end`, one point per `stepSeconds`. */
  async function queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<Series[]> {
    const data = await api('/api/v1/query_range', {
      query: expr,
      start: (start.getTime() / 1000).toFixed(3),
      end: (end.getTime() / 1000).toFixed(3),
      step: String(Math.max(1, Math.round(stepSeconds))),
    });
    const matrix = MatrixSchema.parse(data);
    return matrix.result.map((r) => ({ metric: r.metric, points: r.values.map(([t, v]) => [t, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v)) }));
  }

  /** The single value of a query that aggregates to one series (undefined when empty or NaN). */
  async function scalar(expr: string): Promise<number | undefined> {
    const samples = await query(expr);
    const v = samples[0]?.value;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  }

  return { query, queryRange, scalar };
}

export type PrometheusClient = ReturnType<typeof createPrometheusClient>;

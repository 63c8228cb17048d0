import http from 'node:http';

export interface LoadTarget {
  label: string;
  /** Full URL of the MCP endpoint. */
  url: string;
  headers: Record<string, string>;
  /** JSON-RPC tools/call body; `id` is rewritten per call. */
  tool: string;
  args: Record<string, unknown>;
}

export interface LoadResult {
  label: string;
  calls: number;
  errors: number;
  seconds: number;
  callsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  firstError?: string;
  /** Sorted latencies in ms, for merging rounds. */
  latencies: number[];
}

/**
 * Closed-loop load: `clients` virtual users, each sending one raw JSON-RPC
 * `tools/call` POST at a time over a shared keep-alive agent (one socket per
 * user), for `seconds`. Raw http.request keeps the client cheap: no SDK
 * client, no initialize per call (the servers are stateless and accept a bare
 * tools/call), no SSE (both answer JSON).
 */
export async function runLoad(target: LoadTarget, clients: number, seconds: number): Promise<LoadResult> {
  const u = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const deadline = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let id = 0;

  const one = () =>
    new Promise<void>((resolve) => {
      id += 1;
      const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: target.tool, arguments: target.args } });
      const started = performance.now();
      const req = http.request(
        {
          agent,
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(body),
            ...target.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - started);
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || text.includes('"isError":true') || text.includes('"error":')) {
              errors += 1;
              firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
            }
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors += 1;
        firstError ??= err.message;
        resolve();
      });
      req.end(body);
    });

  const user = async () => {
    while (performance.now() < deadline) await one();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, user));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();

  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    label: target.label,
    calls: latencies.length,
    errors,
    seconds: elapsed,
    callsPerSecond: latencies.length / elapsed,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    firstError,
    latencies,
  };
}

/** One result out of several rounds of the same target: total calls over total time, percentiles over every call. */
export function mergeResults(results: LoadResult[]): LoadResult {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = results.reduce((s, r) => s + r.seconds, 0);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return {
    label: results[0]?.label ?? '',
    calls: latencies.length,
    errors: results.reduce((s, r) => s + r.errors, 0),
    seconds,
    callsPerSecond: latencies.length / seconds,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    firstError: results.find((r) => r.firstError)?.firstError,
    latencies,
  };
}

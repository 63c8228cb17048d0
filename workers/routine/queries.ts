/**
 * The operations guide's PromQL, as the routine's reports run it. Ranges the
 * guide writes as [5m] alert windows become the report's window (`w`); where
 * the guide's text needs a fix to run, the fix is noted.
 */
export const morningQueries = (w: string) => ({
  /** Health of every scraped service (the guide's `up{job=...}` for all jobs). */
  up: 'up',
  /** The guide's error rate: rate(mcp_requests_total{status!="success"}) / rate(mcp_requests_total), over the night. */
  errorRate: `sum(rate(mcp_requests_total{status!="success"}[${w}])) / sum(rate(mcp_requests_total[${w}]))`,
  /** The guide's 95th percentile response time, over the night. */
  p95: `histogram_quantile(0.95, sum by (le) (rate(mcp_request_duration_seconds_bucket[${w}])))`,
  /** The guide's average response time. */
  avgLatency: `sum(rate(mcp_request_duration_seconds_sum[${w}])) / sum(rate(mcp_request_duration_seconds_count[${w}]))`,
  requests: `sum(increase(mcp_requests_total[${w}]))`,
  /** Authentication success rate (guide: > 99%): requests that were not refused for authentication. */
  authFailures: `sum(increase(mcp_auth_failures_total[${w}]))`,
  /** MCP tool usage: most frequently used tools. */
  topTools: `topk(5, sum by (tool) (increase(mcp_requests_total{tool!="none"}[${w}])))`,
  /** The guide's "Circuit breaker open": circuit_breaker_state > 0 (we show every state). */
  breakers: 'circuit_breaker_state',
  activeConnections: 'sum(mcp_active_connections)',
  memoryRatio: 'max(process_memory_usage_bytes{service="mcp-financial-server"} / process_memory_limit_bytes{service="mcp-financial-server"})',
  cpu: 'max(process_cpu_usage_percent{service="mcp-financial-server"})',
});

export const securityQueries = (w: string) => ({
  /** The guide's authentication failure rate, per second, over the week and now. */
  authFailureRate: `sum(rate(mcp_auth_failures_total[${w}]))`,
  authFailureRateNow: 'sum(rate(mcp_auth_failures_total[5m]))',
  authFailureShare: `sum(increase(mcp_auth_failures_total[${w}])) / sum(increase(mcp_requests_total[${w}]))`,
  authFailuresByReason: `sum by (reason) (increase(mcp_auth_failures_total[${w}]))`,
  /** The guide's JWT token validation failures, by reason. */
  jwtByReason: `sum by (reason) (increase(jwt_validation_failures_total[${w}]))`,
  /** The guide's suspicious request patterns: 403s. */
  forbiddenRateNow: 'sum(rate(mcp_requests_total{status="403"}[5m]))',
  forbidden: `sum(increase(mcp_requests_total{status="403"}[${w}]))`,
});

/** The guide's Capacity Planning queries, verbatim but for the peak-rate subquery's missing resolution. */
export const CAPACITY_QUERIES = [
  { label: 'Average CPU usage (24h)', expr: 'avg_over_time(process_cpu_usage_percent{service="mcp-financial-server"}[24h])', unit: '%' },
  { label: 'Peak CPU usage (24h)', expr: 'max_over_time(process_cpu_usage_percent{service="mcp-financial-server"}[24h])', unit: '%' },
  { label: 'Memory usage growth (7d)', expr: 'increase(process_memory_usage_bytes{service="mcp-financial-server"}[7d])', unit: 'bytes' },
  { label: 'Memory utilization', expr: 'process_memory_usage_bytes{service="mcp-financial-server"} / process_memory_limit_bytes{service="mcp-financial-server"} * 100', unit: '%' },
  { label: 'Daily request volume', expr: 'sum(increase(mcp_requests_total[24h]))', unit: 'requests' },
  // The guide writes max_over_time(rate(mcp_requests_total[5m])[24h]); a subquery needs "[24h:]" to parse.
  { label: 'Peak request rate (24h)', expr: 'max_over_time(sum(rate(mcp_requests_total[5m]))[24h:])', unit: 'req/s' },
] as const;

/** The series the 90-day forecast is fitted on. */
export const FORECAST_SERIES = [
  { key: 'cpu', title: 'CPU', unit: '%', expr: 'avg(process_cpu_usage_percent{service="mcp-financial-server"})', scale: 1 },
  { key: 'memory', title: 'Memory', unit: 'MB', expr: 'sum(process_memory_usage_bytes{service="mcp-financial-server"})', scale: 1 / 1024 / 1024 },
  { key: 'requests', title: 'Request volume', unit: 'req/s', expr: 'sum(rate(mcp_requests_total[5m]))', scale: 1 },
] as const;

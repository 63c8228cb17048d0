import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { CodedError, ErrorCode } from './errors';

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}

/** One alert as Alertmanager's `GET /api/v2/alerts` reports it (only what we read). */
const GettableAlertSchema = z.looseObject({
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  status: z.looseObject({ state: z.string() }),
});
export type ActiveAlert = z.infer<typeof GettableAlertSchema>;

/** Alertmanager's filter syntax: `name="value"` with `"` and `\` escaped. */
function filterOf(m: SilenceMatcher): string {
  const negated = m.isEqual === false;
  const op = m.isRegex ? (negated ? '!~' : '=~') : negated ? '!=' : '=';
  return `${m.name}${op}"${m.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Alertmanager's silences API (v2). A snooze is a real silence, so Alertmanager
 * itself stops re-notifying and every other receiver sees the same quiet.
 */
export function createSilenceClient(baseUrl: string, options: { timeoutMs?: number } = {}) {
  const http: AxiosInstance = axios.create({
    baseURL: baseUrl.replace(/\/$/, ''),
    timeout: options.timeoutMs ?? 5000,
    validateStatus: () => true,
  });

  async function create(matchers: SilenceMatcher[], endsAt: Date, createdBy: string, comment: string): Promise<string> {
    const res = await http.post('/api/v2/silences', {
      matchers: matchers.map((m) => ({ isEqual: true, ...m })),
      startsAt: new Date().toISOString(),
      endsAt: endsAt.toISOString(),
      createdBy,
      comment,
    });
    if (res.status !== 200 || !res.data?.silenceID) {
      throw new CodedError(ErrorCode.Internal, `Alertmanager refused the silence (HTTP ${res.status}): ${JSON.stringify(res.data).slice(0, 200)}`);
    }
    return res.data.silenceID as string;
  }

  /**
   * Expires a silence. An already expired or unknown one is not an error: the goal is reached.
   * Alertmanager answers an unknown id with 500 ("silence not found"), the same status as a real
   * failure, so a 500 is only accepted once the silence is confirmed gone or expired.
   */
  async function expire(id: string): Promise<void> {
    const res = await http.delete(`/api/v2/silence/${encodeURIComponent(id)}`);
    if (res.status === 200 || res.status === 404) return;
    if (res.status === 500) {
      const check = await http.get(`/api/v2/silence/${encodeURIComponent(id)}`);
      if (check.status === 404 || (check.status === 200 && check.data?.status?.state === 'expired')) return;
    }
    throw new CodedError(ErrorCode.Internal, `Alertmanager could not expire silence ${id} (HTTP ${res.status}): ${JSON.stringify(res.data).slice(0, 200)}`);
  }

  async function get(id: string): Promise<{ id: string; status: { state: string }; endsAt: string } | undefined> {
    const res = await http.get(`/api/v2/silence/${encodeURIComponent(id)}`);
    return res.status === 200 ? res.data : undefined;
  }

  /**
   * Alerts Alertmanager holds as firing that match every matcher, silenced and inhibited ones included
   * (resolved ones are not reported), optionally only those routed to `receiver`.
   */
  async function activeAlerts(matchers: SilenceMatcher[], receiver?: string): Promise<ActiveAlert[]> {
    const params = new URLSearchParams();
    for (const m of matchers) params.append('filter', filterOf(m));
    for (const flag of ['active', 'silenced', 'inhibited', 'unprocessed']) params.append(flag, 'true');
    if (receiver) params.append('receiver', escapeRegex(receiver));
    const res = await http.get(`/api/v2/alerts?${params.toString()}`);
    const parsed = z.array(GettableAlertSchema).safeParse(res.data);
    if (res.status !== 200 || !parsed.success) {
      throw new CodedError(ErrorCode.Internal, `Alertmanager could not list alerts (HTTP ${res.status}): ${JSON.stringify(res.data).slice(0, 200)}`);
    }
    return parsed.data;
  }

  return { create, expire, get, activeAlerts };
}

export type SilenceClient = ReturnType<typeof createSilenceClient>;

/**
 * The matchers that select the alerts of one incident: its Alertmanager group labels (the route's
 * `group_by`), exactly. The snooze's silence, the snooze-end check and the thread's Silence link all
 * use these, so "the alerts of this incident" has one definition. Empty group labels (a route that
 * groups everything) fall back to the alert name.
 */
export function groupMatchers(groupLabels: Record<string, string>, alertname?: string): SilenceMatcher[] {
  const entries = Object.entries(groupLabels).filter(([, v]) => v !== '');
  if (entries.length === 0 && alertname) return [{ name: 'alertname', value: alertname, isRegex: false }];
  return entries.sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ name, value, isRegex: false }));
}

/** The matchers as Alertmanager's UI filter: `{alertname="X",service="Y"}`. */
export function matchersFilter(matchers: SilenceMatcher[]): string {
  return `{${matchers.map(filterOf).join(',')}}`;
}

import axios, { type AxiosInstance } from 'axios';
import { CodedError, ErrorCode } from './errors';

export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}

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

  /** Expires a silence. An already expired or unknown one is not an error: the goal is reached. */
  async function expire(id: string): Promise<void> {
    const res = await http.delete(`/api/v2/silence/${encodeURIComponent(id)}`);
    if (res.status !== 200 && res.status !== 404 && res.status !== 500) {
      throw new CodedError(ErrorCode.Internal, `Alertmanager could not expire silence ${id} (HTTP ${res.status})`);
    }
  }

  async function get(id: string): Promise<{ id: string; status: { state: string }; endsAt: string } | undefined> {
    const res = await http.get(`/api/v2/silence/${encodeURIComponent(id)}`);
    return res.status === 200 ? res.data : undefined;
  }

  return { create, expire, get };
}

export type SilenceClient = ReturnType<typeof createSilenceClient>;

/** The labels that identify an incident's alerts: its group labels, else alertname (+ service). */
export function matchersFor(labels: Record<string, string>): SilenceMatcher[] {
  const keys = ['alertname', 'service', 'job', 'instance'].filter((k) => labels[k]);
  return keys.map((k) => ({ name: k, value: labels[k]!, isRegex: false }));
}

import type { EphemeralMessage } from './types';
import type { ClickRequest, CommandRequest } from './person-actions';
import type { SandboxStats } from './stats';

/** What `command()` and `click()` answer: the bot's HTTP status and body as Slack got them. */
export interface PersonActionResponse {
  ok: boolean;
  status?: number;
  body?: unknown;
  error?: string;
  reason?: string;
}

/** A message as conversations.history / replies return it. */
export type SlackMessage = Record<string, unknown> & { ts: string; text: string; thread_ts?: string; blocks?: unknown[] };

export interface SandboxClientOptions {
  /** The bot token, for the Web API reads (history, replies, channels). */
  token: string;
}

/**
 * A small typed client for the sandbox, for tests and scripts: act as a
 * person, read channels back, read stats. Uses fetch; throws on transport
 * errors and on Web API `ok: false`, never on a person action the bot refused.
 */
export function createSandboxClient(baseUrl: string, options: SandboxClientOptions) {
  const base = baseUrl.replace(/\/$/, '');

  async function control<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${base}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as T;
  }

  async function api<T extends Record<string, unknown>>(method: string, args: Record<string, string | number | undefined>): Promise<T> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(args)) if (v !== undefined) form.set(k, String(v));
    const res = await fetch(`${base}/api/${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const data = (await res.json()) as T & { ok: boolean; error?: string };
    if (!data.ok) throw new Error(`${method} failed: ${data.error}`);
    return data;
  }

  async function findChannelId(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    const { channels } = await api<{ channels: { id: string; name: string }[] }>('conversations.list', {
      types: 'public_channel,private_channel',
      limit: 1000,
    });
    const found = channels.find((c) => c.id === name || c.name === name);
    if (!found) throw new Error(`no channel ${nameOrId}`);
    return found.id;
  }

  return {
    command: (req: CommandRequest) => control<PersonActionResponse>('POST', '/command', req),
    click: (req: ClickRequest) => control<PersonActionResponse>('POST', '/click', req),
    /** Top-level messages of a channel (name or id), newest first, as conversations.history. */
    async history(channel: string, limit = 200): Promise<SlackMessage[]> {
      const id = await findChannelId(channel);
      return (await api<{ messages: SlackMessage[] }>('conversations.history', { channel: id, limit })).messages;
    },
    /** Parent first, then replies oldest first, as conversations.replies. */
    async replies(channel: string, ts: string): Promise<SlackMessage[]> {
      const id = await findChannelId(channel);
      return (await api<{ messages: SlackMessage[] }>('conversations.replies', { channel: id, ts, limit: 1000 })).messages;
    },
    stats: () => control<SandboxStats>('GET', '/stats'),
    resetStats: () => control<{ ok: boolean }>('DELETE', '/stats'),
    reset: () => control<{ ok: boolean }>('POST', '/reset'),
    async ephemeral(query: { user?: string; channel?: string } = {}): Promise<EphemeralMessage[]> {
      const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined) as [string, string][]);
      return (await control<{ messages: EphemeralMessage[] }>('GET', `/ephemeral?${qs.toString()}`)).messages;
    },
    findChannelId,
  };
}

export type SandboxClient = ReturnType<typeof createSandboxClient>;

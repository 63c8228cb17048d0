import type { EphemeralMessage } from './types';
import type { ClickRequest, CommandRequest } from './person-actions';
import type { PostRequest, ReactRequest, ShortcutRequest } from './events';
import type { AnswerFaultInput, AnswerFaultView } from './answer-faults';
import type { CallRecord, SandboxStats } from './stats';

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
  /** Accepted for compatibility; reads go through the sandbox's own views and need no token. */
  token?: string;
}

/**
 * A small typed client for the sandbox, for tests and scripts: act as a
 * person, read channels back, read stats. Reads use the sandbox's read-only
 * views, so polling them never counts in stats nor eats the app's rate limits;
 * messages have the Web API's shape. Throws on transport errors and unknown
 * channels, never on a person action the bot refused.
 */
export function createSandboxClient(baseUrl: string, _options: SandboxClientOptions = {}) {
  const base = baseUrl.replace(/\/$/, '');

  async function control<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${base}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as T;
  }

  async function view(channel: string, threadTs?: string): Promise<SlackMessage[]> {
    const qs = new URLSearchParams({ channel, ...(threadTs ? { thread_ts: threadTs } : {}) });
    const data = await control<{ ok: boolean; error?: string; messages: SlackMessage[] }>('GET', `/messages?${qs.toString()}`);
    if (!data.ok) throw new Error(`no channel ${channel}: ${data.error}`);
    return data.messages;
  }

  async function findChannelId(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    const { channels } = await control<{ channels: { id: string; name: string }[] }>('GET', '/workspace');
    const found = channels.find((c) => c.id === name || c.name === name);
    if (!found) throw new Error(`no channel ${nameOrId}`);
    return found.id;
  }

  return {
    command: (req: CommandRequest) => control<PersonActionResponse>('POST', '/command', req),
    click: (req: ClickRequest) => control<PersonActionResponse>('POST', '/click', req),
    /** A person adds a reaction; the app gets `reaction_added`. */
    react: (req: ReactRequest) => control<PersonActionResponse>('POST', '/react', req),
    /** A person posts a plain message (into a thread with `thread_ts`); the app gets a `message` event. */
    post: (req: PostRequest) => control<PersonActionResponse & { ts?: string; event?: PersonActionResponse }>('POST', '/post', req),
    /** A person runs a message shortcut on a message; the app gets `message_action`. */
    shortcut: (req: ShortcutRequest) => control<PersonActionResponse>('POST', '/shortcut', req),
    /** Top-level messages of a channel (name or id), newest first, as conversations.history. */
    async history(channel: string, limit = 200): Promise<SlackMessage[]> {
      return (await view(channel)).reverse().slice(0, limit);
    },
    /** Parent first, then replies oldest first, as conversations.replies. */
    replies: (channel: string, ts: string): Promise<SlackMessage[]> => view(channel, ts),
    stats: () => control<SandboxStats>('GET', '/stats'),
    resetStats: () => control<{ ok: boolean }>('DELETE', '/stats'),
    reset: () => control<{ ok: boolean }>('POST', '/reset'),
    /** Arms faults: the next `count` calls of `method` are performed and never answered (the connection closes after `hangMs`). */
    setFaults: (faults: Array<{ method: string; count: number; hangMs: number }>) => control<{ ok: boolean }>('PUT', '/faults', { faults }),
    /**
     * Arms answer faults (replacing any armed faults): matching calls are answered 429 with
     * `Retry-After` / 500 / 503 and not performed. Throws with the sandbox's reason when it refuses them.
     */
    async setAnswerFaults(answers: AnswerFaultInput[]): Promise<AnswerFaultView[]> {
      const res = await control<{ ok: boolean; answers?: AnswerFaultView[]; reason?: string }>('PUT', '/faults', { answers });
      if (!res.ok) throw new Error(`sandbox refused the faults: ${res.reason}`);
      return res.answers ?? [];
    },
    /** Armed faults: hangs with calls left, answer faults still active (remaining count or ms). */
    faults: () => control<{ ok: boolean; faults: Array<{ method: string; count: number; hangMs: number }>; answers: AnswerFaultView[] }>('GET', '/faults'),
    clearFaults: () => control<{ ok: boolean }>('DELETE', '/faults'),
    /** The call log, oldest first: arrival and answer times, status, error, Retry-After (`DELETE /stats` empties it). */
    async calls(method?: string): Promise<CallRecord[]> {
      const qs = method ? `?${new URLSearchParams({ method }).toString()}` : '';
      return (await control<{ calls: CallRecord[] }>('GET', `/calls${qs}`)).calls;
    },
    async ephemeral(query: { user?: string; channel?: string } = {}): Promise<EphemeralMessage[]> {
      const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined) as [string, string][]);
      return (await control<{ messages: EphemeralMessage[] }>('GET', `/ephemeral?${qs.toString()}`)).messages;
    },
    findChannelId,
  };
}

export type SandboxClient = ReturnType<typeof createSandboxClient>;

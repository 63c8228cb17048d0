/** Per-method counts, in total and by channel id: what `GET /_sandbox/stats` returns. */
export interface MethodCounts {
  total: number;
  byChannel: Record<string, number>;
}

export interface SandboxStats {
  calls: Record<string, MethodCounts>;
  ratelimited: Record<string, MethodCounts>;
}

/** Counts every Web API call the sandbox answered and every one it refused with 429. */
export function createStats() {
  let stats: SandboxStats = { calls: {}, ratelimited: {} };

  function bump(kind: keyof SandboxStats, method: string, channelId: string | undefined): void {
    const counts = (stats[kind][method] ??= { total: 0, byChannel: {} });
    counts.total += 1;
    if (channelId) counts.byChannel[channelId] = (counts.byChannel[channelId] ?? 0) + 1;
  }

  return {
    call: (method: string, channelId?: string) => bump('calls', method, channelId),
    ratelimited: (method: string, channelId?: string) => bump('ratelimited', method, channelId),
    snapshot: (): SandboxStats => structuredClone(stats),
    reset: () => {
      stats = { calls: {}, ratelimited: {} };
    },
  };
}

export type Stats = ReturnType<typeof createStats>;

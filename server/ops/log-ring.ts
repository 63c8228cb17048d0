/**
 * The last N log lines of this process, kept in memory for
 * ops_collect_evidence (the seed's `docker logs ... > incident-logs.log`).
 * It is a pino destination: add it beside stdout with `pino.multistream`.
 */
export function createLogRing(size: number) {
  const lines: string[] = new Array<string>(size);
  let next = 0;
  let count = 0;

  function write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      lines[next] = line;
      next = (next + 1) % size;
      count = Math.min(count + 1, size);
    }
  }

  /** Oldest first. */
  function snapshot(): string[] {
    if (count < size) return lines.slice(0, count);
    return [...lines.slice(next), ...lines.slice(0, next)];
  }

  return { write, snapshot, size };
}

export type LogRing = ReturnType<typeof createLogRing>;

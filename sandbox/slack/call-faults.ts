/**
 * Faults of the sandbox's Web API, for tests of what a client does when it
 * cannot know whether Slack acted: a call that Slack *performs* but whose
 * answer never arrives (a timeout after posting, as happens on real Slack under
 * load). Set with `PUT /_sandbox/faults`, cleared with `DELETE`.
 */
export interface CallFault {
  /** Web API method, e.g. `chat.postMessage`. */
  method: string;
  /** How many of the next calls of `method` get the fault. */
  count: number;
  /** How long the answer is held before the connection is closed without one. */
  hangMs: number;
}

export function createCallFaults() {
  let faults: CallFault[] = [];
  return {
    set(list: CallFault[]): void {
      faults = list.map((f) => ({ ...f }));
    },
    clear(): void {
      faults = [];
    },
    /** The fault for this call of `method`, if one is armed (and counts it down). */
    take(method: string): CallFault | undefined {
      const f = faults.find((x) => x.method === method && x.count > 0);
      if (f) f.count -= 1;
      return f;
    },
    list: (): CallFault[] => faults.map((f) => ({ ...f })),
  };
}

export type CallFaults = ReturnType<typeof createCallFaults>;

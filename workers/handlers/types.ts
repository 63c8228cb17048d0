/** What a runbook action handler returns; the worker turns it into a thread reply. */
export interface ActionOutcome {
  ok: boolean;
  /** One line for the thread. */
  summary: string;
  /** Longer output shown in a code block under the summary. */
  detail?: string;
}

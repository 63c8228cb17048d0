import fs from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { MaintenanceGate } from '../mcp/tool-context';

export interface MaintenanceStatus {
  enabled: boolean;
  reason?: string;
  actor?: string;
  /** ISO time of the last change we know of. */
  since?: string;
}

export interface MaintenanceStoreConfig {
  /** The seed's status file: holds `maintenance` while in maintenance, absent otherwise. */
  statusFile: string;
  /** How long a read of the file is trusted. @defaultValue 1000 */
  cacheMs?: number;
}

/**
 * Maintenance mode through the seed's status file, so an operator's
 * `echo maintenance > status` and `rm status` work as the guide says, and
 * ops_set_maintenance does the same thing. Who/why/when go in a sidecar
 * `<file>.json`. Reads are cached briefly because every finance call asks.
 */
export function createMaintenanceStore(config: MaintenanceStoreConfig): MaintenanceGate & {
  status(): Promise<MaintenanceStatus>;
  set(enabled: boolean, meta: { reason: string; actor: string }): Promise<MaintenanceStatus>;
  statusFile: string;
} {
  const file = config.statusFile;
  const sidecar = `${file}.json`;
  const cacheMs = config.cacheMs ?? 1000;
  let cached: { on: boolean; at: number } | undefined;
  let reading: Promise<boolean> | undefined;

  async function readOn(): Promise<boolean> {
    try {
      const text = await fs.readFile(file, 'utf8');
      return text.split('\n')[0]!.trim() === 'maintenance';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async function isOn(): Promise<boolean> {
    if (cached && Date.now() - cached.at < cacheMs) return cached.on;
    // One read in flight at a time, however many calls arrive together.
    reading ??= readOn()
      .then((on) => {
        cached = { on, at: Date.now() };
        return on;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }

  async function status(): Promise<MaintenanceStatus> {
    const enabled = await readOn();
    cached = { on: enabled, at: Date.now() };
    let meta: MaintenanceStatus | undefined;
    try {
      meta = JSON.parse(await fs.readFile(sidecar, 'utf8')) as MaintenanceStatus;
    } catch {
      meta = undefined;
    }
    // The file is the truth; the sidecar only explains it when it agrees.
    if (!meta || meta.enabled !== enabled) return { enabled };
    return { enabled, reason: meta.reason, actor: meta.actor, since: meta.since };
  }

  // Changes run one at a time, in call order: two concurrent calls interleaving their two writes would leave
  // the status file and its sidecar telling different stories.
  let changing: Promise<unknown> = Promise.resolve();
  function set(enabled: boolean, meta: { reason: string; actor: string }): Promise<MaintenanceStatus> {
    const run = changing.then(() => apply(enabled, meta));
    changing = run.catch(() => undefined);
    return run;
  }

  async function apply(enabled: boolean, meta: { reason: string; actor: string }): Promise<MaintenanceStatus> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const next: MaintenanceStatus = { enabled, reason: meta.reason, actor: meta.actor, since: new Date().toISOString() };
    await atomicWrite(sidecar, `${JSON.stringify(next)}\n`);
    if (enabled) await atomicWrite(file, 'maintenance\n');
    else await fs.rm(file, { force: true });
    cached = { on: enabled, at: Date.now() };
    return next;
  }

  return { isOn, status, set, statusFile: file };
}

export type MaintenanceStore = ReturnType<typeof createMaintenanceStore>;

/** Write to a temp file in the same directory, then rename: readers never see half a file. */
export async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  await fs.writeFile(tmp, content, { mode: 0o640 });
  await fs.rename(tmp, file);
}

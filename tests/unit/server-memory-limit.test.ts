import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMetricsRegistry, memoryLimitBytes } from '../../lib/metrics';

/** A fake /sys/fs/cgroup and /proc/self/cgroup in a temp dir. */
function fixture(files: Record<string, string>, selfCgroup?: string): { root: string; self: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-cgroup-'));
  const root = path.join(dir, 'sys-fs-cgroup');
  fs.mkdirSync(root);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), `${content}\n`);
  }
  const self = path.join(dir, 'self-cgroup');
  if (selfCgroup !== undefined) fs.writeFileSync(self, selfCgroup);
  return { root, self, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const MiB = 1024 * 1024;

describe('process_memory_limit_bytes comes from the cgroup limit', () => {
  test('cgroup v2 in a private namespace (a container): memory.max at the root', () => {
    const f = fixture({ 'memory.max': String(512 * MiB) }, '0::/\n');
    expect(memoryLimitBytes(f.root, f.self)).toBe(512 * MiB);
    f.cleanup();
  });

  test('cgroup v2 without a namespace (a systemd unit): the tightest limit on the path of our own cgroup', () => {
    const f = fixture(
      {
        'system.slice/memory.max': String(2048 * MiB),
        'system.slice/mfo.service/memory.max': 'max',
        'other.slice/memory.max': String(64 * MiB),
      },
      '0::/system.slice/mfo.service\n',
    );
    expect(memoryLimitBytes(f.root, f.self)).toBe(2048 * MiB);
    f.cleanup();
  });

  test('cgroup v1: the memory controller path, v1’s "unlimited" ignored', () => {
    const f = fixture(
      {
        'memory/memory.limit_in_bytes': '9223372036854771712',
        'memory/docker/abc/memory.limit_in_bytes': String(1024 * MiB),
      },
      '12:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n',
    );
    expect(memoryLimitBytes(f.root, f.self)).toBe(1024 * MiB);
    f.cleanup();
  });

  test('no limit anywhere: the host total; a limit above the host is capped at it', () => {
    const none = fixture({ 'memory.max': 'max' }, '0::/\n');
    expect(memoryLimitBytes(none.root, none.self)).toBe(os.totalmem());
    none.cleanup();
    const huge = fixture({ 'memory.max': String(os.totalmem() * 4) }, '0::/\n');
    expect(memoryLimitBytes(huge.root, huge.self)).toBe(os.totalmem());
    huge.cleanup();
  });

  test('no /proc/self/cgroup: the namespace root is still read', () => {
    const f = fixture({ 'memory.max': String(300 * MiB) });
    expect(memoryLimitBytes(f.root, f.self)).toBe(300 * MiB);
    f.cleanup();
  });

  test('the gauge reports it', async () => {
    const f = fixture({ 'memory.max': String(256 * MiB) });
    const registry = createMetricsRegistry({ service: 't', defaultMetrics: false, cgroupRoot: f.root });
    const text = await registry.metrics();
    f.cleanup();
    // createMetricsRegistry reads the real /proc/self/cgroup; on a host whose own cgroup is tighter, that wins.
    const value = Number(/^process_memory_limit_bytes\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThanOrEqual(256 * MiB);
  });
});

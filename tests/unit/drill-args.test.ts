import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listText, parseArgs, SCENARIOS, stackEnv, UsageError } from '../../scripts/drill';

const root = path.resolve(__dirname, '../..');

describe('npm run drill arguments', () => {
  it('parses a scenario with flags', () => {
    const a = parseArgs(['error-burst', '--timeout', '90s', '--json', '--direct']);
    expect(a.scenario?.name).toBe('error-burst');
    expect(a).toMatchObject({ timeoutMs: 90_000, json: true, direct: true, list: false });
    expect(parseArgs(['backend-down', '--timeout', '2m']).timeoutMs).toBe(120_000);
    expect(parseArgs(['backend-down']).waitForAck).toBe(false);
    expect(parseArgs(['backend-down', '--wait-for-ack']).waitForAck).toBe(true);
  });

  it('disaster-recovery takes a fresh backup unless --backup names one, and removes its staging unless --keep-restore', () => {
    const plain = parseArgs(['disaster-recovery']);
    expect(plain).toMatchObject({ keepRestore: false, direct: false });
    expect(plain.backup).toBeUndefined();
    expect(parseArgs(['disaster-recovery', '--backup', 'latest', '--keep-restore'])).toMatchObject({ backup: 'latest', keepRestore: true });
    expect(parseArgs(['disaster-recovery', '--backup', 'backup-20261203T010000Z-a1b2c3.tar.gz', '--direct']).backup).toBe('backup-20261203T010000Z-a1b2c3.tar.gz');
    expect(parseArgs(['validate-recovery', '--json']).scenario?.kind).toBe('validation');
  });

  it('both recovery scenarios are playable; only validate-recovery raises no alert', () => {
    const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
    expect(byName.get('disaster-recovery')).toMatchObject({ playable: true, kind: 'recovery', alert: 'ServiceDown', severity: 'critical', prometheusSeesIt: true });
    expect(byName.get('validate-recovery')).toMatchObject({ playable: true, kind: 'validation', alert: '-' });
    expect(SCENARIOS.every((s) => s.playable)).toBe(true);
  });

  it.each([
    [['nope'], /unknown scenario "nope"/],
    [[], /which scenario/],
    [['backend-down', 'error-burst'], /one scenario at a time/],
    [['backend-down', '--bogus'], /unknown flag --bogus/],
    [['backend-down', '--timeout'], /--timeout needs a value/],
    [['backend-down', '--timeout', 'soon'], /not a duration/],
    [['backend-down', '--timeout', '0s'], /must be > 0/],
    [['disaster-recovery', '--backup'], /--backup needs a value/],
    [['disaster-recovery', '--backup', '../../etc/passwd'], /neither "latest" nor a backup name/],
    [['disaster-recovery', '--backup', 'backup.tar'], /neither "latest" nor a backup name/],
    [['backend-down', '--backup', 'latest'], /for disaster-recovery, not backend-down/],
    [['validate-recovery', '--keep-restore'], /for disaster-recovery, not validate-recovery/],
    [['validate-recovery', '--direct'], /validate-recovery raises no alert/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('finds npm start\'s control endpoint and backups in its env file; the environment wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drill-env-'));
    try {
      const file = path.join(dir, 'local.env');
      fs.writeFileSync(file, 'STACK_CONTROL_URL=http://127.0.0.1:41234\nSTACK_CONTROL_TOKEN=from-the-file-0123456789\nBACKUP_DIR=/srv/b\nWORKERS_METRICS_PORT=13002\n');
      const env = stackEnv(file, { BACKUP_DIR: '/override', STACK_CONTROL_TOKEN: '' });
      expect(env).toMatchObject({ STACK_CONTROL_URL: 'http://127.0.0.1:41234', STACK_CONTROL_TOKEN: 'from-the-file-0123456789', BACKUP_DIR: '/override' });
      expect(env.ports.workers).toBe(13002);
      expect(() => stackEnv(path.join(dir, 'missing.env'), {})).toThrow(/--env-file: .* does not exist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--list has one paragraph per scenario naming its alert', () => {
    const text = listText();
    const paragraphs = text.split('\n\n');
    expect(paragraphs).toHaveLength(SCENARIOS.length);
    for (const s of SCENARIOS) expect(text).toContain(`${s.name}  (alert: ${s.alert})`);
  });

  it('the CLI exits 2 with the usage on bad input, 0 on --list', () => {
    const tsx = require.resolve('tsx/cli');
    const bad = spawnSync(process.execPath, [tsx, 'scripts/drill.ts', 'no-such-drill'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown scenario "no-such-drill"[\s\S]*usage: npm run drill/);
    const list = spawnSync(process.execPath, [tsx, 'scripts/drill.ts', '--list'], { cwd: root, encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('backend-down  (alert: BackendServiceDown)');
    expect(list.stdout).toContain('disaster-recovery  (alert: ServiceDown)');
    expect(list.stdout).not.toMatch(/not playable/);
  });
});

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { listText, parseArgs, SCENARIOS, UsageError } from '../../scripts/drill';

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

  it.each([
    [['nope'], /unknown scenario "nope"/],
    [[], /which scenario/],
    [['backend-down', 'error-burst'], /one scenario at a time/],
    [['backend-down', '--bogus'], /unknown flag --bogus/],
    [['backend-down', '--timeout'], /--timeout needs a value/],
    [['backend-down', '--timeout', 'soon'], /not a duration/],
    [['backend-down', '--timeout', '0s'], /must be > 0/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
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
  });
});

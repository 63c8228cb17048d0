/**
 * lib/runbook.ts: the schema, the loader's errors (file + key path, every
 * problem at once), and names that could escape the runbooks directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError, ErrorCode, NotFoundError, ValidationError } from '../../lib/errors';
import { loadRunbook, loadRunbooks, parseRunbook, RUNBOOKS_DIR, RunbookSchema } from '../../lib/runbook';

/** A small valid runbook; each test breaks one thing. */
function validRunbook(alert = 'TestAlert'): Record<string, unknown> {
  return {
    alert,
    title: 'Something is wrong',
    summary: 'A test runbook.',
    priority: 'P2',
    severity: 'high',
    response_time: 'Within 1 hour',
    diagnostics: [
      { name: 'error_ratio', description: 'Share of failed calls.', promql: 'sum(rate(mcp_requests_total{status!="success"}[5m]))' },
      { name: 'health_check', description: 'Full report.', action: 'health_check' },
    ],
    actions: [
      { action: 'health_check', label: 'Health check', guarded: false, description: 'Full report.' },
      { action: 'restart', label: 'Restart server', guarded: true, description: 'Restarts the server.' },
    ],
    procedure: ['Acknowledge.', 'Fix it.'],
  };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbooks-test-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (file: string, value: unknown) => fs.writeFileSync(path.join(dir, file), typeof value === 'string' ? value : stringify(value));

function loadError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ErrorCode.ConfigInvalid);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadRunbooks', () => {
  it('loads the committed runbooks by alert name', () => {
    const runbooks = loadRunbooks();
    expect(runbooks.size).toBeGreaterThanOrEqual(14);
    const down = runbooks.get('ServiceDown')!;
    expect(down).toMatchObject({ alert: 'ServiceDown', priority: 'P1', severity: 'critical' });
    expect(down.actions.map((a) => a.action)).toContain('restart');
    expect(loadRunbooks(RUNBOOKS_DIR)).toEqual(runbooks);
  });

  it('every committed file passes the schema on its own (what the loader parsed is the file)', () => {
    for (const file of fs.readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.yaml'))) {
      const parsed = RunbookSchema.safeParse(parse(fs.readFileSync(path.join(RUNBOOKS_DIR, file), 'utf8')));
      expect({ file, ok: parsed.success, issues: parsed.error?.issues }).toEqual({ file, ok: true, issues: undefined });
    }
  });

  it('loads a valid directory and ignores files that are not runbooks', () => {
    write('TestAlert.yaml', validRunbook());
    write('README.md', '# not a runbook');
    const runbooks = loadRunbooks(dir);
    expect([...runbooks.keys()]).toEqual(['TestAlert']);
    expect(runbooks.get('TestAlert')!.diagnostics[1]).toEqual({ name: 'health_check', description: 'Full report.', action: 'health_check' });
  });

  it('a bad file gives a ConfigError naming the file and the key path', () => {
    const bad = validRunbook();
    (bad.diagnostics as Array<Record<string, unknown>>)[0]!.promql = 'sum(rate(mcp_requests_total[5m])';
    write('TestAlert.yaml', bad);
    const err = loadError(() => loadRunbooks(dir));
    const file = path.join(dir, 'TestAlert.yaml');
    expect(err.details).toEqual([`${file}: diagnostics[0].promql: unbalanced brackets`]);
    expect(err.message).toContain(`${file}: diagnostics[0].promql: unbalanced brackets`);
  });

  it('names missing keys, unknown keys, wrong types and enum values by path', () => {
    const bad = validRunbook();
    delete bad.title;
    bad.owner = 'team-x';
    (bad.actions as Array<Record<string, unknown>>)[0]!.action = 'reboot';
    (bad.actions as Array<Record<string, unknown>>)[1]!.guarded = 'yes';
    (bad.diagnostics as Array<Record<string, unknown>>)[1]!.comand = 'x';
    bad.priority = 'P5';
    write('TestAlert.yaml', bad);
    const problems = loadError(() => loadRunbooks(dir)).details as string[];
    const at = (p: string) => problems.find((line) => line.includes(`TestAlert.yaml: ${p}: `));
    expect(at('title')).toMatch(/title: required$/);
    expect(at('owner')).toMatch(/owner: unknown key$/);
    expect(at('actions[0].action')).toMatch(/expected one of health_check, restart, rollback/);
    expect(at('actions[1].guarded')).toMatch(/expected true or false/);
    expect(at('diagnostics[1].comand')).toMatch(/unknown key/);
    expect(at('priority')).toMatch(/expected one of P1, P2, P3, P4/);
  });

  it('refuses an unguarded action that changes the service, duplicates, and a diagnostic that runs nothing', () => {
    const bad = validRunbook();
    (bad.actions as Array<Record<string, unknown>>)[1]!.guarded = false;
    (bad.actions as unknown[]).push({ action: 'health_check', label: 'Again', guarded: false, description: 'Twice.' });
    (bad.diagnostics as unknown[]).push({ name: 'read_logs', description: 'Read the logs.' });
    write('TestAlert.yaml', bad);
    const problems = loadError(() => loadRunbooks(dir)).details as string[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/actions\[1\]\.guarded: this action changes the running service: guarded must be true$/),
        expect.stringMatching(/actions\[2\]: duplicate action "health_check"$/),
        expect.stringMatching(/diagnostics\[2\]: a diagnostic runs an action or a promql query/),
      ]),
    );
  });

  it('refuses a guarded-only action as a diagnostic run at open', () => {
    const bad = validRunbook();
    (bad.diagnostics as Array<Record<string, unknown>>)[1]!.action = 'restart';
    write('TestAlert.yaml', bad);
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      expect.stringMatching(/diagnostics\[1\]\.action: expected one of health_check, security_report, list_blocked_ips, collect_evidence$/),
    ]);
  });

  it('the alert must equal the file name', () => {
    write('TestAlert.yaml', validRunbook('OtherAlert'));
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      `${path.join(dir, 'TestAlert.yaml')}: alert: "OtherAlert" differs from the file name (TestAlert.yaml)`,
    ]);
  });

  it('severity and priority must agree through the severity map', () => {
    write('TestAlert.yaml', { ...validRunbook(), severity: 'warning', priority: 'P1' });
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      `${path.join(dir, 'TestAlert.yaml')}: priority: P1 disagrees with severity warning, which maps to P3`,
    ]);
    write('TestAlert.yaml', { ...validRunbook(), severity: 'page-me' });
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      `${path.join(dir, 'TestAlert.yaml')}: severity: "page-me" is not in priority.severity_map (critical, high, warning, info)`,
    ]);
    // A deployment with its own map checks against that one.
    expect(loadRunbooks(dir, { severityMap: { 'page-me': 'P2' } }).get('TestAlert')!.severity).toBe('page-me');
  });

  it('reports YAML syntax errors with the file, and every bad file at once', () => {
    write('Broken.yaml', 'alert: Broken\ntitle: [unclosed\n');
    write('TestAlert.yaml', { ...validRunbook(), procedure: [] });
    write('Other.yml', validRunbook('Other'));
    const problems = loadError(() => loadRunbooks(dir)).details as string[];
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(new RegExp(`^${escape(path.join(dir, 'Broken.yaml'))}: \\(root\\): YAML: `));
    expect(problems[1]).toBe(`${path.join(dir, 'Other.yml')}: (root): runbooks are named <alertname>.yaml, as runbook_url says`);
    expect(problems[2]).toBe(`${path.join(dir, 'TestAlert.yaml')}: procedure: at least one step`);
  });

  it('says why when unquoted YAML turned a step into a mapping', () => {
    write('TestAlert.yaml', stringify(validRunbook()).replace('- Fix it.', '- Check the backend: then fix it.'));
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      `${path.join(dir, 'TestAlert.yaml')}: procedure[1]: expected a step, got a mapping (a ": " in unquoted YAML starts one; quote the text or use >-)`,
    ]);
  });

  it('a file name that is not an alert name, an empty or missing directory', () => {
    write('bad.name.yaml', validRunbook('bad'));
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([expect.stringMatching(/bad\.name\.yaml: \(root\): the file name is not an alert name/)]);
    fs.rmSync(path.join(dir, 'bad.name.yaml'));
    expect(loadError(() => loadRunbooks(dir)).message).toBe(`no runbooks (*.yaml) in ${dir}`);
    expect(loadError(() => loadRunbooks(path.join(dir, 'nope'))).message).toMatch(/cannot read the runbooks directory/);
  });

  it('refuses http links that are not URLs and repository paths that climb out', () => {
    write('TestAlert.yaml', { ...validRunbook(), links: [{ title: 'up', url: '../../etc/passwd' }, { title: 'js', url: 'javascript:alert(1)' }] });
    expect(loadError(() => loadRunbooks(dir)).details).toEqual([
      expect.stringMatching(/links\[0\]\.url: expected an http\(s\) URL or a repository path$/),
      expect.stringMatching(/links\[1\]\.url: expected an http\(s\) URL or a repository path$/),
    ]);
  });
});

describe('loadRunbook', () => {
  it('loads one runbook by alert name', () => {
    expect(loadRunbook(RUNBOOKS_DIR, 'CircuitBreakerOpen')).toEqual(loadRunbooks().get('CircuitBreakerOpen'));
  });

  it.each(['../package', '..', '../../etc/passwd', 'a/b', 'a\\b', '.hidden', 'ServiceDown.yaml', '', ' ServiceDown', 'x'.repeat(65), '1Alert', 'Service%2fDown', 'a\0b'])(
    'refuses the name %j with E_VALIDATION_FAILED',
    (name) => {
      fs.writeFileSync(path.join(dir, 'package.yaml'), stringify(validRunbook('package')));
      let caught: unknown;
      try {
        loadRunbook(path.join(dir, 'sub'), name);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).code).toBe(ErrorCode.ValidationFailed);
    },
  );

  it('a valid name with no file is E_NOT_FOUND; a valid name with a bad file is E_CONFIG_INVALID', () => {
    expect(() => loadRunbook(dir, 'Missing')).toThrow(NotFoundError);
    write('TestAlert.yaml', { ...validRunbook(), actions: [] });
    expect(loadError(() => loadRunbook(dir, 'TestAlert')).details).toEqual([`${path.join(dir, 'TestAlert.yaml')}: actions: at least one action`]);
  });

  it('accepts the longest allowed name', () => {
    const name = `A${'b'.repeat(63)}`;
    write(`${name}.yaml`, validRunbook(name));
    expect(loadRunbook(dir, name).alert).toBe(name);
  });
});

describe('parseRunbook', () => {
  it('validates text with a source name for the errors', () => {
    expect(parseRunbook(stringify(validRunbook()), 'inline', 'TestAlert').title).toBe('Something is wrong');
    expect(loadError(() => parseRunbook('alert: X\n', 'inline')).details).toContain('inline: title: required');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { ErrorCode } from '../../lib/errors';
import { loadOpsConfig, parseOpsConfig } from '../../lib/ops-config';
import { comparePriority, decidePriority, normalizePriority, responseDeadline } from '../../bot/incidents/priority';

const config = loadOpsConfig();

describe('decidePriority', () => {
  it('a priority label beats everything', () => {
    expect(decidePriority({ priority: 'P4', severity: 'critical' }, 'P1', config)).toEqual({ priority: 'P4', rule: 'label:priority' });
    expect(decidePriority({ priority: 'p2' }, undefined, config)).toEqual({ priority: 'P2', rule: 'label:priority' });
    expect(decidePriority({ priority: '1' }, undefined, config)).toEqual({ priority: 'P1', rule: 'label:priority' });
  });

  it('then the severity label through the map', () => {
    expect(decidePriority({ severity: 'critical' }, 'P3', config)).toEqual({ priority: 'P1', rule: 'severity:critical' });
    expect(decidePriority({ severity: 'high' }, undefined, config)).toEqual({ priority: 'P2', rule: 'severity:high' });
    expect(decidePriority({ severity: 'warning' }, undefined, config)).toEqual({ priority: 'P3', rule: 'severity:warning' });
    expect(decidePriority({ severity: 'info' }, undefined, config)).toEqual({ priority: 'P4', rule: 'severity:info' });
    expect(decidePriority({ severity: 'Critical' }, undefined, config)).toEqual({ priority: 'P1', rule: 'severity:critical' });
  });

  it('skips a priority label that does not parse instead of trusting it', () => {
    expect(decidePriority({ priority: 'urgent', severity: 'critical' }, undefined, config)).toEqual({ priority: 'P1', rule: 'severity:critical' });
    expect(decidePriority({ priority: 'P5' }, 'P2', config)).toEqual({ priority: 'P2', rule: 'runbook' });
  });

  it('then the runbook default, then the config default', () => {
    expect(decidePriority({ severity: 'page-me' }, 'P2', config)).toEqual({ priority: 'P2', rule: 'runbook' });
    expect(decidePriority({}, undefined, config)).toEqual({ priority: 'P3', rule: 'default' });
  });

  it('uses a configured map and default', () => {
    const custom = parseOpsConfig('priority:\n  severity_map: { page: P1, ticket: P4 }\n  default: P4\n  response_times: { P1: 5m, P2: 30m, P3: 2h, P4: 1d }\n');
    expect(decidePriority({ severity: 'page' }, undefined, custom)).toEqual({ priority: 'P1', rule: 'severity:page' });
    expect(decidePriority({ severity: 'critical' }, undefined, custom)).toEqual({ priority: 'P4', rule: 'default' });
  });

  it('normalises and orders priorities', () => {
    expect(normalizePriority(' p3 ')).toBe('P3');
    expect(normalizePriority('P0')).toBeUndefined();
    expect(normalizePriority(undefined)).toBeUndefined();
    expect((['P3', 'P1', 'P4', 'P2'] as const).slice().sort(comparePriority)).toEqual(['P1', 'P2', 'P3', 'P4']);
  });
});

describe('responseDeadline', () => {
  const opened = new Date('2025-03-24T10:00:00Z'); // a Monday, 10:00 GMT

  it('uses the seed response times', () => {
    expect(responseDeadline('P1', opened, config).toISOString()).toBe('2025-03-24T10:15:00.000Z');
    expect(responseDeadline('P2', opened, config).toISOString()).toBe('2025-03-24T11:00:00.000Z');
    expect(responseDeadline('P3', opened, config).toISOString()).toBe('2025-03-24T14:00:00.000Z');
  });

  it('P4 is due by the end of the next business day', () => {
    expect(responseDeadline('P4', opened, config).toISOString()).toBe('2025-03-25T17:00:00.000Z');
    // Friday night before the clocks go forward: Monday 17:00 BST.
    expect(responseDeadline('P4', new Date('2025-03-28T22:00:00Z'), config).toISOString()).toBe('2025-03-31T16:00:00.000Z');
  });

  it('ESCALATION_TIME_SCALE multiplies the clock', () => {
    expect(responseDeadline('P1', opened, config, 0.01).getTime() - opened.getTime()).toBe(9_000);
    expect(responseDeadline('P2', opened, config, 2).getTime() - opened.getTime()).toBe(7_200_000);
    const p4 = responseDeadline('P4', opened, config).getTime() - opened.getTime();
    expect(responseDeadline('P4', opened, config, 0.001).getTime() - opened.getTime()).toBe(Math.round(p4 * 0.001));
  });

  it('rejects a time scale that is not > 0', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => responseDeadline('P1', opened, config, bad)).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
    }
  });
});

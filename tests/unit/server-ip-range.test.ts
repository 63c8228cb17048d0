import { assertBlockable, overlaps, parseRange, parseRangeList } from '../../server/ops/ip-range';
import { createLogRing } from '../../server/ops/log-ring';
import { isSafeEntry } from '../../server/ops/backups';

describe('IP ranges', () => {
  test('canonical forms', () => {
    expect(parseRange('203.0.113.77/24').cidr).toBe('203.0.113.0/24');
    expect(parseRange('198.51.100.7').cidr).toBe('198.51.100.7/32');
    expect(parseRange('2001:DB8:0:0::1').cidr).toBe('2001:db8::1/128');
    expect(parseRange('2001:db8:abcd:12::/48').cidr).toBe('2001:db8:abcd::/48');
    expect(parseRange('::ffff:192.0.2.1').cidr).toBe('192.0.2.1/32');
    expect(parseRange('::ffff:192.0.2.0/120').cidr).toBe('192.0.2.0/24');
    expect(() => parseRange('300.1.1.1')).toThrow(/not an IPv4\/IPv6/);
    expect(() => parseRange('10.0.0.0/33')).toThrow();
  });

  test('overlap is symmetric and family-aware', () => {
    expect(overlaps(parseRange('10.0.0.0/8'), parseRange('10.1.2.3'))).toBe(true);
    expect(overlaps(parseRange('10.1.2.3'), parseRange('10.0.0.0/8'))).toBe(true);
    expect(overlaps(parseRange('10.0.0.0/8'), parseRange('11.0.0.0/16'))).toBe(false);
    expect(overlaps(parseRange('::/0'), parseRange('10.0.0.0/8'))).toBe(false);
  });

  const policy = { allowlist: parseRangeList('10.0.0.0/8, 2001:db8:ffff::/48'), maxPrefixV4: 16, maxPrefixV6: 48 };

  test.each([
    ['127.0.0.1', /loopback/],
    ['127.5.0.0/16', /loopback/],
    ['::1', /loopback/],
    ['10.9.9.9', /allowlist entry 10\.0\.0\.0\/8/],
    ['2001:db8:ffff:1::/64', /allowlist/],
    ['100.64.0.0/10', /broader than \/16/],
    ['2001:db8::/32', /broader than \/48/],
  ])('refuses %s', (ip, why) => {
    expect(() => assertBlockable(parseRange(ip), policy)).toThrow(why);
  });

  test.each(['203.0.113.0/24', '198.51.100.7', '100.64.0.0/16', '2001:db8:1::/48', '2001:db8:1::7'])('accepts %s', (ip) => {
    expect(() => assertBlockable(parseRange(ip), policy)).not.toThrow();
  });
});

describe('log ring', () => {
  test('keeps the last N lines, oldest first', () => {
    const ring = createLogRing(3);
    ring.write('a\nb\n');
    expect(ring.snapshot()).toEqual(['a', 'b']);
    ring.write('c\n');
    ring.write('d\ne\n');
    expect(ring.snapshot()).toEqual(['c', 'd', 'e']);
  });
});

describe('archive entry safety', () => {
  test.each([
    ['etc/config.yaml', 'File', true],
    ['dir/', 'Directory', true],
    ['../x', 'File', false],
    ['a/../../x', 'File', false],
    ['/etc/passwd', 'File', false],
    ['C:/x', 'File', false],
    ['link', 'SymbolicLink', false],
    ['hard', 'Link', false],
  ])('%s (%s) safe=%s', (p, type, safe) => {
    expect(isSafeEntry(p, type)).toBe(safe);
  });
});

import ipaddr from 'ipaddr.js';
import { ValidationError } from '../../lib/errors';

/** An address or CIDR range in canonical form: network address, prefix, family. */
export interface IpRange {
  /** e.g. "203.0.113.0/24", "2001:db8::/48", "198.51.100.7/32" */
  cidr: string;
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const LOOPBACK: IpRange[] = [parseRange('127.0.0.0/8'), parseRange('::1/128')];

/** Parses "1.2.3.4", "1.2.3.0/24", "2001:db8::1", "2001:db8::/32"; IPv4-mapped IPv6 becomes IPv4. */
export function parseRange(input: string): IpRange {
  const text = input.trim();
  try {
    let [addr, prefix] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), -1];
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
      prefix = prefix < 0 ? 32 : Math.max(0, prefix - 96);
    }
    const family = addr.kind();
    const bits = family === 'ipv4' ? 32 : 128;
    if (prefix < 0) prefix = bits;
    const network =
      family === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`).toString()
        : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefix}`).toString();
    return { cidr: `${network}/${prefix}`, network, prefix, family };
  } catch {
    throw new ValidationError(`"${input}" is not an IPv4/IPv6 address or CIDR range`);
  }
}

/** True when two ranges share at least one address. */
export function overlaps(a: IpRange, b: IpRange): boolean {
  if (a.family !== b.family) return false;
  const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return ipaddr.parse(narrow.network).match(ipaddr.parse(wide.network), wide.prefix);
}

export interface BlockPolicy {
  /** Ranges that must never be blocked (IP_ALLOWLIST). */
  allowlist: IpRange[];
  /** Broadest accepted prefix per family (IP_BLOCK_MAX_PREFIX, IP_BLOCK_MAX_PREFIX_V6). */
  maxPrefixV4: number;
  maxPrefixV6: number;
}

/** Throws a ValidationError saying why `range` may not be blocked. */
export function assertBlockable(range: IpRange, policy: BlockPolicy): void {
  const max = range.family === 'ipv4' ? policy.maxPrefixV4 : policy.maxPrefixV6;
  if (range.prefix < max) {
    throw new ValidationError(`refused: ${range.cidr} is broader than /${max}, the widest range that may be blocked`);
  }
  if (LOOPBACK.some((l) => overlaps(l, range))) throw new ValidationError(`refused: ${range.cidr} covers loopback`);
  const allowed = policy.allowlist.find((a) => overlaps(a, range));
  if (allowed) throw new ValidationError(`refused: ${range.cidr} overlaps the allowlist entry ${allowed.cidr}`);
}

/** IP_ALLOWLIST: comma-separated addresses/CIDRs. */
export function parseRangeList(text: string): IpRange[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseRange);
}

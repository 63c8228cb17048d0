import type { Request } from 'express';

// req.ip walks X-Forwarded-For through the trust function on every read; a request asks up to three times.
const seen = new WeakMap<Request, string>();

/**
 * The caller's address: Express's `req.ip`, which honours `trust proxy`
 * (TRUST_PROXY) and falls back to the socket. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`) are reported as plain IPv4 so one rule covers both.
 * Worked out once per request.
 */
export function clientIp(req: Request): string {
  let ip = seen.get(req);
  if (ip === undefined) {
    ip = normalizeIp(req.ip ?? req.socket.remoteAddress ?? '');
    seen.set(req, ip);
  }
  return ip;
}

export function normalizeIp(raw: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  return mapped ? mapped[1]! : raw;
}

/**
 * TRUST_PROXY in Express trust-proxy syntax: "true"/"false", a hop count, or a
 * comma-separated list of names (loopback, linklocal, uniquelocal) and CIDRs.
 */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

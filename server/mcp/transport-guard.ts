import os from 'node:os';
import type { NextFunction, Request, Response } from 'express';
import type { Counter } from 'prom-client';

/**
 * The Streamable HTTP transport's security rules (MCP spec, transport §Security
 * Warning): validate `Origin` on every request, against DNS rebinding, and only
 * answer the `Host` names this server is meant to be reached by. A refusal is a
 * 403 with a JSON-RPC error body, given before authentication is even tried.
 *
 * Why not the SDK's `hostHeaderValidation` middleware: it compares host names
 * without their port (so `127.0.0.1:6666` passes for a server on 3000) and does
 * not look at `Origin`; the transport's own `allowedHosts`/`allowedOrigins` are
 * deprecated and run after auth. The error body is the SDK's (code -32000).
 */
export interface TransportGuardConfig {
  /** Counted per refusal: `reason` is `host` or `origin`. */
  rejections: Counter<'reason'>;
  /** Also counts a refused /mcp request in `mcp_requests_total{tool="none",status="403"}`. */
  onMcpRefusal?: () => void;
}

export interface TransportAllowlist {
  hosts: ReadonlySet<string>;
  /** Host names allowed on any port. */
  anyPortHosts: ReadonlySet<string>;
  origins: ReadonlySet<string>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '[::]';

const bracket = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** `Host` as the WHATWG URL parser reads it: lower case, IPv6 bracketed, default port dropped. */
export function normaliseHost(value: string): string | undefined {
  if (!value || /[/?#@\s\\]/.test(value)) return undefined;
  try {
    return new URL(`http://${value}`).host;
  } catch {
    return undefined;
  }
}

export function normaliseOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

/**
 * The allowlist in force once the server listens. Configured entries are used
 * as given; with none configured, the defaults are the bound host and port,
 * plus the loopback names when bound to loopback (or every local interface
 * address when bound to a wildcard), plus the host of `MCP_RESOURCE_URL`.
 */
export function transportAllowlist(options: {
  bindHost: string;
  port: number;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  resourceUrl?: string;
}): TransportAllowlist {
  const { bindHost, port } = options;
  const defaults = new Set<string>();
  const names = isWildcard(bindHost) ? [...LOOPBACK_NAMES, ...interfaceAddresses()] : isLoopbackHost(bindHost) ? [bindHost, ...LOOPBACK_NAMES] : [bindHost];
  for (const name of names) {
    const h = normaliseHost(`${bracket(name)}:${port}`);
    if (h) defaults.add(h);
  }
  const resource = options.resourceUrl ? new URL(options.resourceUrl) : undefined;
  if (resource) {
    defaults.add(resource.host);
    // A client may spell the default port out (`mcp.example.com:443`).
    if (!resource.port) defaults.add(normaliseHost(`${resource.hostname}:${resource.protocol === 'https:' ? 443 : 80}`)!);
  }

  const hosts = new Set<string>();
  const anyPortHosts = new Set<string>();
  if (options.allowedHosts.length === 0) for (const h of defaults) hosts.add(h);
  for (const entry of options.allowedHosts) {
    const h = normaliseHost(entry);
    if (!h) continue;
    if (/:\d+$/.test(entry)) hosts.add(h);
    else anyPortHosts.add(h);
  }

  const origins = new Set<string>();
  if (options.allowedOrigins.length === 0) {
    for (const h of defaults) origins.add(`http://${h}`);
    if (resource) origins.add(resource.origin);
  }
  for (const entry of options.allowedOrigins) {
    const o = normaliseOrigin(entry);
    if (o) origins.add(o);
  }
  return { hosts, anyPortHosts, origins };
}

function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined)
    .map((a) => a.address);
}

export function hostAllowed(allow: TransportAllowlist, header: string | undefined): boolean {
  const h = header === undefined ? undefined : normaliseHost(header);
  if (!h) return false;
  if (allow.hosts.has(h)) return true;
  return allow.anyPortHosts.has(h.replace(/:\d+$/, ''));
}

/** A missing Origin is a non-browser client: allowed. `null` and anything unlisted are refused. */
export function originAllowed(allow: TransportAllowlist, header: string | undefined): boolean {
  if (header === undefined) return true;
  const o = normaliseOrigin(header);
  return o !== undefined && allow.origins.has(o);
}

/**
 * Middleware. `checkHost: false` skips the Host rule (health probes and
 * scrapers address a replica by its pod IP) but still refuses a foreign Origin.
 */
export function createTransportGuard(config: TransportGuardConfig, allowlist: () => TransportAllowlist) {
  const refuse = (req: Request, res: Response, reason: 'host' | 'origin', message: string) => {
    config.rejections.inc({ reason });
    if (req.path === '/mcp') config.onMcpRefusal?.();
    res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
  };
  return (options: { checkHost: boolean }) =>
    (req: Request, res: Response, next: NextFunction): void => {
      const allow = allowlist();
      const origin = req.headers.origin;
      if (!originAllowed(allow, origin)) return refuse(req, res, 'origin', `Forbidden: Origin ${JSON.stringify(origin)} is not allowed`);
      if (options.checkHost && !hostAllowed(allow, req.headers.host)) {
        return refuse(req, res, 'host', `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed`);
      }
      next();
    };
}

import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import { audited, type AuditLog } from './audit';
import type { IpBlock, IpDenylist } from './ip-denylist';

const IpBlockSchema = z.object({
  cidr: z.string(),
  reason: z.string(),
  actor: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});

const MAX_TTL_SECONDS = 90 * 86400;

export interface IpToolsDeps {
  denylist: IpDenylist;
  audit: AuditLog;
  logger: Logger;
}

const describeBlock = (b: IpBlock) => `${b.cidr} until ${b.expiresAt} by ${b.actor}: ${b.reason}`;

/** ops_block_ip, ops_unblock_ip, ops_list_blocked_ips: the seed's `iptables -A INPUT -s <ip> -j DROP`, for every replica. */
export function ipTools(deps: IpToolsDeps): GuardedTool[] {
  const onAuditError = (err: Error) => deps.logger.error({ err: err.message }, 'audit write failed');
  const block = defineTool({
    name: 'ops_block_ip',
    title: 'Block an IP address or range',
    description:
      'Blocks an IPv4/IPv6 address or CIDR range on every replica (403 before auth) for ttlSeconds. Loopback, the allowlist and ranges broader than the configured prefix are refused.',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({
      ip: z.string().min(2).max(64).describe('address or CIDR, e.g. 203.0.113.7 or 2001:db8::/48'),
      ttlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS).default(3600),
      reason: z.string().min(3).max(500),
    }),
    output: z.object({ blocked: IpBlockSchema }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run(args, { caller }) {
      const blocked = await audited(deps.audit, { actor: caller.subject, tool: 'ops_block_ip', args }, () =>
        deps.denylist.block({ ...args, actor: caller.subject }),
      onAuditError);
      return { structured: { blocked }, text: `Blocked ${describeBlock(blocked)}` };
    },
  });
  const unblock = defineTool({
    name: 'ops_unblock_ip',
    title: 'Unblock an IP address or range',
    description: 'Removes a block made with ops_block_ip (give the same address or range).',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({ ip: z.string().min(2).max(64) }),
    output: z.object({ unblocked: IpBlockSchema }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async run(args, { caller }) {
      const unblocked = await audited(deps.audit, { actor: caller.subject, tool: 'ops_unblock_ip', args }, () =>
        deps.denylist.unblock(args.ip),
      onAuditError);
      return { structured: { unblocked }, text: `Unblocked ${unblocked.cidr} (was: ${unblocked.reason})` };
    },
  });
  const list = defineTool({
    name: 'ops_list_blocked_ips',
    title: 'List blocked IPs',
    description: 'Lists the active IP blocks with their reason, author and expiry.',
    scope: 'ops:read',
    kind: 'ops',
    input: z.object({}),
    output: z.object({ count: z.number().int(), blocks: z.array(IpBlockSchema) }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run() {
      const blocks = await deps.denylist.list();
      const text = blocks.length === 0 ? 'No blocked IPs.' : [`${blocks.length} blocked:`, ...blocks.map((b) => `- ${describeBlock(b)}`)].join('\n');
      return { structured: { count: blocks.length, blocks }, text };
    },
  });
  return [block, unblock, list];
}

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import * as tar from 'tar';
import { createLogger } from '../../lib/logger';
import { createLogRing } from '../../server/ops/log-ring';
import { callBody, postMcp, startTestServer, type TestServer } from './server-harness';

type ToolResult = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: Record<string, unknown> };

describe('ops_security_report and ops_collect_evidence', () => {
  let t: TestServer;
  let admin: Client;
  const ring = createLogRing(500);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await admin.callTool({ name, arguments: args })) as ToolResult;

  beforeAll(async () => {
    t = await startTestServer(
      { TRUST_PROXY: 'loopback' },
      { logger: createLogger({ name: 'mcp-financial-server', level: 'info', destination: ring }), logRing: ring },
    );
    admin = await t.client(await t.token('ops:admin', { sub: 'dave' }));
  });
  afterAll(async () => t.close());

  test('auth failures are reported by client address and reason over the window', async () => {
    const attacker = '198.51.100.5';
    const forged = `${(await t.token('ops:admin')).slice(0, -4)}AAAA`;
    for (let i = 0; i < 3; i++) await postMcp(t.mcpUrl, callBody('ops_health_check'), { 'x-forwarded-for': attacker, authorization: `Bearer ${forged}` });
    await postMcp(t.mcpUrl, callBody('ops_health_check'), { 'x-forwarded-for': attacker, authorization: 'Bearer x.y.z' });
    await postMcp(t.mcpUrl, callBody('ops_health_check'));
    await postMcp(t.mcpUrl, callBody('ops_block_ip', { ip: '192.0.2.1', reason: 'x' }), {
      'x-forwarded-for': '192.0.2.99',
      authorization: `Bearer ${await t.token('ops:read')}`,
    });
    await call('ops_block_ip', { ip: attacker, ttlSeconds: 600, reason: 'brute force' });

    const r = await call('ops_security_report', { windowMinutes: 5 });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as {
      total: number;
      byReason: Record<string, number>;
      clients: Array<{ ip: string; total: number; reasons: Record<string, number>; blocked: boolean }>;
    };
    expect(s.total).toBe(6);
    expect(s.byReason).toEqual({ signature: 3, malformed: 1, missing: 1, insufficient_scope: 1 });
    expect(s.clients[0]).toMatchObject({ ip: attacker, total: 4, reasons: { signature: 3, malformed: 1 }, blocked: true });
    expect(s.clients.find((c) => c.ip === '127.0.0.1')).toMatchObject({ total: 1, reasons: { missing: 1 }, blocked: false });
    expect(s.clients.find((c) => c.ip === '192.0.2.99')).toMatchObject({ reasons: { insufficient_scope: 1 } });
    expect(r.content[0]!.text).toContain(`${attacker} [blocked]: 4`);
  });

  test('evidence: logs and state in one archive whose sha256 is returned and stored beside it', async () => {
    const r = await call('ops_collect_evidence', { reason: 'INC-7' });
    expect(r.isError).toBeFalsy();
    const e = r.structuredContent as { path: string; sha256: string; files: string[]; errors: string[] };
    expect(path.dirname(e.path)).toBe(t.env.EVIDENCE_DIR);
    expect(e.errors).toEqual([]);
    const bytes = await fs.readFile(e.path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    expect(await fs.readFile(`${e.path}.sha256`, 'utf8')).toContain(e.sha256);

    const contents: Record<string, string> = {};
    await tar.t({
      file: e.path,
      onReadEntry: (entry) => {
        let text = '';
        entry.on('data', (c: Buffer) => (text += c.toString()));
        entry.on('end', () => (contents[path.basename(entry.path)] = text));
      },
    });
    expect(Object.keys(contents)).toEqual(
      expect.arrayContaining(['logs.ndjson', 'health.json', 'breakers.json', 'blocked-ips.json', 'maintenance.json', 'metrics.txt', 'audit.json', 'auth-failures.json', 'meta.json']),
    );
    expect(contents['logs.ndjson']).toContain('auth refused');
    expect(contents['metrics.txt']).toContain('mcp_requests_total');
    expect(JSON.parse(contents['blocked-ips.json']!)).toEqual([expect.objectContaining({ cidr: '198.51.100.5/32' })]);
    expect(JSON.parse(contents['meta.json']!)).toMatchObject({ actor: 'dave', reason: 'INC-7' });
    expect(JSON.parse(contents['health.json']!).mode).toBe('full');
    // the staging directory is gone: only the archive and its checksum remain
    expect((await fs.readdir(t.env.EVIDENCE_DIR)).sort()).toEqual([path.basename(e.path), `${path.basename(e.path)}.sha256`]);
  });
});

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { npmToken, startTestServer, type TestServer } from './server-harness';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
/** The Inspector's own launcher (`npx @modelcontextprotocol/inspector`), from our devDependencies: no network. */
const INSPECTOR = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'cli', 'build', 'cli.js');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the Inspector prints JSON; fields are read one by one
type Json = any;

/**
 * The MCP Inspector CLI (an outside MCP client we did not write) against our
 * server over Streamable HTTP, with a token minted by `npm run token`:
 *   mcp-inspector --cli <url> --transport http --method tools/list --header "Authorization: Bearer <token>"
 */
describe('MCP Inspector CLI against the server', () => {
  let sims: RunningSimulators;
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    sims = await startBackendSimulators();
    t = await startTestServer({ ACCOUNT_SERVICE_URL: sims.accountUrl, TRANSACTION_SERVICE_URL: sims.transactionUrl }, { production: true });
    token = await npmToken('accounts:read transactions:write ops:read', { sub: 'inspector' });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sims?.stop();
  });

  /** Runs the Inspector CLI and parses the JSON it prints. */
  async function inspector(method: string, extra: string[] = [], bearer = token): Promise<Json> {
    const args = [INSPECTOR, '--cli', t.mcpUrl, '--transport', 'http', '--method', method, '--header', `Authorization: Bearer ${bearer}`, ...extra];
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout);
  }
  /** `--tool-arg key=<JSON>`: the CLI JSON-parses each value, so strings are quoted to stay strings. */
  const toolArgs = (args: Record<string, unknown>) => Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${JSON.stringify(v)}`]);
  const callTool = (name: string, args: Record<string, unknown> = {}) => inspector('tools/call', ['--tool-name', name, ...toolArgs(args)]);

  test('tools/list shows every tool, each with input and output schemas', async () => {
    const { tools } = (await inspector('tools/list')) as { tools: Array<{ name: string; inputSchema: Json; outputSchema?: Json }> };
    expect(tools.map((x) => x.name).sort()).toEqual(
      [
        'create_transfer',
        'get_account',
        'get_account_balance',
        'get_transaction',
        'list_accounts',
        'list_transactions',
        'ops_backup_create',
        'ops_backup_list',
        'ops_backup_restore',
        'ops_backup_verify',
        'ops_block_ip',
        'ops_collect_evidence',
        'ops_health_check',
        'ops_list_blocked_ips',
        'ops_reset_circuit_breaker',
        'ops_security_report',
        'ops_set_maintenance',
        'ops_unblock_ip',
      ].sort(),
    );
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
  }, 60_000);

  test('every finance tool and ops_health_check answer through the Inspector', async () => {
    const accounts = (await callTool('list_accounts', { currency: 'GBP', limit: 10 })).structuredContent.accounts as Json[];
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    expect(accounts.every((a) => a.currency === 'GBP' && Number.isInteger(a.balance.amountMinor))).toBe(true);
    const [from, to] = accounts as [Json, Json];

    const account = await callTool('get_account', { accountId: from.id });
    expect(account.isError).toBeFalsy();
    expect(account.structuredContent.account).toMatchObject({ id: from.id, currency: 'GBP' });

    const balance = await callTool('get_account_balance', { accountId: from.id });
    expect(balance.structuredContent).toMatchObject({ accountId: from.id, balance: { currency: 'GBP' } });
    expect(balance.content[0].text).toMatch(new RegExp(`^Balance of ${from.id}: GBP `));

    const key = randomUUID();
    const transfer = { fromAccountId: from.id, toAccountId: to.id, amount: { amountMinor: 7, currency: 'GBP' }, idempotencyKey: key };
    const created = await callTool('create_transfer', transfer);
    expect(created.isError).toBeFalsy();
    expect(created.structuredContent).toMatchObject({ replayed: false, transaction: { status: 'completed', amount: { amountMinor: 7, currency: 'GBP' } } });
    const txnId = created.structuredContent.transaction.id as string;
    // the same key and body again: the same transfer, not a second one
    const replay = await callTool('create_transfer', transfer);
    expect(replay.structuredContent).toMatchObject({ replayed: true, transaction: { id: txnId } });

    const listed = await callTool('list_transactions', { accountId: from.id, limit: 5 });
    expect((listed.structuredContent.transactions as Json[]).map((x) => x.id)).toContain(txnId);

    const txn = await callTool('get_transaction', { transactionId: txnId });
    expect(txn.structuredContent.transaction).toMatchObject({ id: txnId, fromAccountId: from.id, toAccountId: to.id });

    const health = await callTool('ops_health_check', { mode: 'full' });
    expect(health.isError).toBeFalsy();
    expect(health.structuredContent).toMatchObject({
      status: 'healthy',
      mode: 'full',
      redis: { ok: true },
      maintenance: { enabled: false },
      breakers: expect.arrayContaining([expect.objectContaining({ service: 'account-service', state: 'closed' })]),
    });
    expect(health.structuredContent.backends.map((b: Json) => b.healthy)).toEqual([true, true]);
    expect(health.content[0].text).toMatch(/^Health \(full\): OK/);
  }, 120_000);

  test('resources/list and prompts/list show the guide, the runbooks, the accounts and the three prompts; one of each is read', async () => {
    const opsToken = await npmToken('accounts:read transactions:read ops:read', { sub: 'inspector' });
    const { resources } = (await inspector('resources/list', [], opsToken)) as { resources: Array<{ uri: string; mimeType: string }> };
    const uris = resources.map((r) => r.uri);
    expect(uris[0]).toBe('docs://operations-guide');
    expect(uris).toContain('runbook://HighErrorRate');
    expect(uris.some((u) => u.startsWith('account://acc_'))).toBe(true);

    const runbook = await inspector('resources/read', ['--uri', 'runbook://HighErrorRate'], opsToken);
    expect(runbook.contents[0]).toMatchObject({ uri: 'runbook://HighErrorRate', mimeType: 'application/yaml', text: expect.stringMatching(/^# Runbook for the HighErrorRate alert/) });
    const accountUri = uris.find((u) => u.startsWith('account://'))!;
    const account = await inspector('resources/read', ['--uri', accountUri], opsToken);
    expect(JSON.parse(account.contents[0].text).account.id).toBe(accountUri.slice('account://'.length));

    const { prompts } = (await inspector('prompts/list', [], opsToken)) as { prompts: Array<{ name: string }> };
    expect(prompts.map((p) => p.name)).toEqual(['investigate_transaction', 'reconcile_account', 'triage_alert']);
    const triage = await inspector('prompts/get', ['--prompt-name', 'triage_alert', '--prompt-args', 'alertname=HighErrorRate'], opsToken);
    const attached = (triage.messages as Json[]).find((m) => m.content.type === 'resource');
    expect(attached.content.resource.uri).toBe('runbook://HighErrorRate');
    expect((triage.messages as Json[]).some((m) => m.content.type === 'text' && m.content.text.includes('Health (full): '))).toBe(true);
  }, 120_000);

  test('a tool error comes back as an isError result the Inspector prints', async () => {
    const refused = await callTool('get_account', { accountId: 'acc_does_not_exist' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0].text).toMatch(/^E_ACCOUNT_NOT_FOUND: /);
  }, 60_000);

  test('without a valid token the Inspector cannot connect (401), and the refusal is counted', async () => {
    const before = await t.metric('jwt_validation_failures_total', { reason: 'signature' });
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    await expect(inspector('tools/list', [], forged)).rejects.toMatchObject({ code: 1 });
    expect(await t.metric('jwt_validation_failures_total', { reason: 'signature' })).toBeGreaterThan(before);
  }, 60_000);
});

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { callBody, postMcp, startTestServer, type TestServer } from './server-harness';

const ROOT = path.join(__dirname, '..', '..');
const RUNBOOK_NAMES = fs
  .readdirSync(path.join(ROOT, 'runbooks'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read back from resources, field by field
type Json = any;

/** A JSON resource, parsed. */
async function readJson(client: Client, uri: string): Promise<Json> {
  const { contents } = await client.readResource({ uri });
  return JSON.parse((contents[0] as { text: string }).text);
}

/** The MCP surface besides tools, over real HTTP with the SDK client, against the backend simulators. */
describe('MCP protocol surface: capabilities, resources, prompts, completions, logging, progress', () => {
  let sims: RunningSimulators;
  let t: TestServer;
  let all: Client; // every scope
  let accountsOnly: Client;
  let opsOnly: Client;
  let accounts: Array<{ id: string; currency: string }>;
  let txnId: string;

  beforeAll(async () => {
    sims = await startBackendSimulators();
    // A page of 8 so the 15 documents and the demo accounts take several pages.
    t = await startTestServer({ ACCOUNT_SERVICE_URL: sims.accountUrl, TRANSACTION_SERVICE_URL: sims.transactionUrl }, { production: true, resourcePageSize: 8 });
    all = await t.client(await t.token('accounts:read transactions:write ops:admin'));
    accountsOnly = await t.client(await t.token('accounts:read'));
    opsOnly = await t.client(await t.token('ops:read'));
    const page = await all.callTool({ name: 'list_accounts', arguments: { limit: 100 } });
    accounts = (page.structuredContent as Json).accounts;
    const txns = await all.callTool({ name: 'list_transactions', arguments: { accountId: accounts[0]!.id, limit: 5 } });
    txnId = (txns.structuredContent as Json).transactions[0].id;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sims?.stop();
  });

  test('capabilities are exactly what is served: no listChanged, no subscriptions', () => {
    expect(all.getServerCapabilities()).toEqual({
      tools: { listChanged: false },
      logging: {},
      resources: { listChanged: false, subscribe: false },
      prompts: { listChanged: false },
      completions: {},
    });
  });

  test('resources/templates/list: accounts, transactions and accounts by currency', async () => {
    const { resourceTemplates } = await all.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toEqual([
      'account://{accountId}',
      'account://{accountId}/transactions{?since}',
      'transaction://{id}',
      'accounts://currency/{currency}',
    ]);
  });

  test('resources/list pages through the guide, every runbook and every account; what is listed is what the scopes allow', async () => {
    const uris: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await all.listResources(cursor ? { cursor } : {});
      expect(page.resources.length).toBeLessThanOrEqual(8);
      uris.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(cursor).toBeUndefined();
    expect(pages).toBe(Math.ceil((1 + RUNBOOK_NAMES.length + accounts.length) / 8));
    expect(uris).toEqual(['docs://operations-guide', ...RUNBOOK_NAMES.map((n) => `runbook://${n}`), ...accounts.map((a) => `account://${a.id}`)]);

    const accountPages: string[] = [];
    let c: string | undefined;
    do {
      const page = await accountsOnly.listResources(c ? { cursor: c } : {});
      accountPages.push(...page.resources.map((r) => r.uri));
      c = page.nextCursor;
    } while (c);
    expect(accountPages).toEqual(accounts.map((a) => `account://${a.id}`));
    const docsOnly = await opsOnly.listResources();
    expect(docsOnly.resources.every((r) => !r.uri.startsWith('account://'))).toBe(true);
    await expect(all.listResources({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('E_VALIDATION_FAILED') });
  });

  test('resources/read: the guide and a runbook as text, accounts and transactions as the tools return them', async () => {
    const guide = await opsOnly.readResource({ uri: 'docs://operations-guide' });
    expect(guide.contents[0]).toMatchObject({ mimeType: 'text/markdown', text: fs.readFileSync(path.join(ROOT, 'docs', 'operations-guide.md'), 'utf8') });
    const runbook = await opsOnly.readResource({ uri: 'runbook://HighErrorRate' });
    expect(runbook.contents[0]).toMatchObject({ mimeType: 'application/yaml', text: fs.readFileSync(path.join(ROOT, 'runbooks', 'HighErrorRate.yaml'), 'utf8') });

    const id = accounts[0]!.id;
    const account = await readJson(accountsOnly, `account://${id}`);
    const tool = await accountsOnly.callTool({ name: 'get_account', arguments: { accountId: id } });
    expect(account).toEqual(tool.structuredContent);

    const txn = await readJson(all, `transaction://${txnId}`);
    expect(txn.transaction.id).toBe(txnId);

    const everything = await readJson(all, `account://${id}/transactions`);
    expect(everything.transactions.length).toBeGreaterThan(1);
    const pivot = everything.transactions[Math.floor(everything.transactions.length / 2)].createdAt as string;
    const since = await readJson(all, `account://${id}/transactions?since=${encodeURIComponent(pivot)}`);
    expect(since.since).toBe(pivot);
    expect(since.transactions.length).toBeGreaterThan(0);
    expect(since.transactions.length).toBeLessThan(everything.transactions.length);
    expect(since.transactions.every((x: Json) => Date.parse(x.createdAt) >= Date.parse(pivot))).toBe(true);

    const currency = accounts[0]!.currency;
    const byCurrency = await readJson(accountsOnly, `accounts://currency/${currency}`);
    expect(byCurrency.accounts.map((a: Json) => a.id).sort()).toEqual(accounts.filter((a) => a.currency === currency).map((a) => a.id).sort());
  });

  test('resources/read needs the matching tool’s scope: 403 at the HTTP layer, nothing read', async () => {
    await expect(accountsOnly.readResource({ uri: 'runbook://HighErrorRate' })).rejects.toMatchObject({ code: 403, message: expect.stringContaining('insufficient_scope') });
    await expect(accountsOnly.readResource({ uri: `transaction://${txnId}` })).rejects.toMatchObject({ code: 403, message: expect.stringContaining('insufficient_scope') });
    await expect(opsOnly.readResource({ uri: `account://${accounts[0]!.id}` })).rejects.toMatchObject({ code: 403, message: expect.stringContaining('insufficient_scope') });
    const res = await postMcp(t.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'runbook://HighErrorRate' } }, {
      authorization: `Bearer ${await t.token('accounts:read')}`,
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('scope="ops:read"');
  });

  test('bad input to a resource is a coded JSON-RPC error', async () => {
    await expect(accountsOnly.readResource({ uri: 'account://acc_does_not_exist' })).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('E_ACCOUNT_NOT_FOUND: ') });
    await expect(all.readResource({ uri: `account://${accounts[0]!.id}/transactions?since=yesterday` })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('E_VALIDATION_FAILED: since'),
    });
    await expect(opsOnly.readResource({ uri: 'runbook://NoSuchAlert' })).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('E_NOT_FOUND') });
    await expect(all.readResource({ uri: 'accounts://currency/gbp' })).rejects.toMatchObject({ code: -32602 });
  });

  test('prompts: investigate_transaction, reconcile_account and triage_alert, with validated arguments', async () => {
    const { prompts } = await all.listPrompts();
    expect(prompts.map((p) => [p.name, (p.arguments ?? []).map((a) => `${a.name}${a.required ? '' : '?'}`)])).toEqual([
      ['investigate_transaction', ['transactionId']],
      ['reconcile_account', ['accountId', 'since']],
      ['triage_alert', ['alertname']],
    ]);

    const investigate = await all.getPrompt({ name: 'investigate_transaction', arguments: { transactionId: txnId } });
    const attached = investigate.messages.find((m) => m.content.type === 'resource')!.content as Json;
    expect(attached.resource.uri).toBe(`transaction://${txnId}`);
    expect(JSON.parse(attached.resource.text).transaction.id).toBe(txnId);

    const since = new Date(Date.now() - 7 * 86400_000).toISOString();
    const reconcile = await all.getPrompt({ name: 'reconcile_account', arguments: { accountId: accounts[0]!.id, since } });
    expect(reconcile.messages.map((m) => (m.content.type === 'resource' ? (m.content.resource as Json).uri : m.content.type))).toEqual([
      'text',
      `account://${accounts[0]!.id}`,
      `account://${accounts[0]!.id}/transactions?since=${encodeURIComponent(since)}`,
    ]);

    const triage = await all.getPrompt({ name: 'triage_alert', arguments: { alertname: 'HighErrorRate' } });
    const runbook = triage.messages.find((m) => m.content.type === 'resource')!.content as Json;
    expect(runbook.resource.text).toBe(fs.readFileSync(path.join(ROOT, 'runbooks', 'HighErrorRate.yaml'), 'utf8'));
    expect(triage.messages.some((m) => m.content.type === 'text' && /ops_health_check \{"mode":"full"\} answered:\nHealth \(full\): /.test(m.content.text))).toBe(true);

    await expect(all.getPrompt({ name: 'triage_alert', arguments: { alertname: 'NoSuchAlert' } })).rejects.toMatchObject({ code: -32602 });
    await expect(all.getPrompt({ name: 'reconcile_account', arguments: { accountId: accounts[0]!.id, since: 'last week' } })).rejects.toMatchObject({ code: -32602 });
    await expect(all.getPrompt({ name: 'investigate_transaction', arguments: { transactionId: 'txn_does_not_exist' } })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining('E_NOT_FOUND'),
    });
    // scopes as the tools': a token without ops:read cannot pull a runbook through a prompt
    await expect(accountsOnly.getPrompt({ name: 'triage_alert', arguments: { alertname: 'HighErrorRate' } })).rejects.toMatchObject({ code: 403, message: expect.stringContaining('insufficient_scope') });
  });

  test('completions: account ids, currencies, transaction ids and alert names, bounded and scoped', async () => {
    const alerts = await opsOnly.complete({ ref: { type: 'ref/prompt', name: 'triage_alert' }, argument: { name: 'alertname', value: 'high' } });
    expect(alerts.completion.values).toEqual(RUNBOOK_NAMES.filter((n) => n.toLowerCase().startsWith('high')));
    expect(alerts.completion.values.length).toBeGreaterThan(1);

    const prefix = accounts[0]!.id.slice(0, 5);
    const ids = await accountsOnly.complete({ ref: { type: 'ref/resource', uri: 'account://{accountId}' }, argument: { name: 'accountId', value: prefix } });
    expect(ids.completion.values).toEqual(accounts.map((a) => a.id).filter((id) => id.startsWith(prefix)).slice(0, 20));
    expect(ids.completion.values.length).toBeLessThanOrEqual(20);

    const currencies = await accountsOnly.complete({ ref: { type: 'ref/resource', uri: 'accounts://currency/{currency}' }, argument: { name: 'currency', value: '' } });
    expect(currencies.completion.values).toEqual([...new Set(accounts.map((a) => a.currency))].sort());

    const txns = await all.complete({
      ref: { type: 'ref/prompt', name: 'investigate_transaction' },
      argument: { name: 'transactionId', value: 'txn_' },
      context: { arguments: {} },
    });
    expect(txns.completion.values.length).toBeGreaterThan(0);
    expect(txns.completion.values.length).toBeLessThanOrEqual(20);
    expect(txns.completion.values.every((v) => v.startsWith('txn_'))).toBe(true);

    // scoped: without the data's scope, no values (and no error that would confirm anything)
    expect((await opsOnly.complete({ ref: { type: 'ref/resource', uri: 'account://{accountId}' }, argument: { name: 'accountId', value: '' } })).completion.values).toEqual([]);
    expect((await accountsOnly.complete({ ref: { type: 'ref/prompt', name: 'triage_alert' }, argument: { name: 'alertname', value: '' } })).completion.values).toEqual([]);
    await expect(all.complete({ ref: { type: 'ref/prompt', name: 'nope' }, argument: { name: 'x', value: '' } })).rejects.toBeInstanceOf(McpError);
  });

  test('long ops tools answer as SSE with progress and log messages at the caller’s logging/setLevel; the rest stay JSON', async () => {
    const token = await t.token('ops:admin', { sub: 'progress-tester' });
    const json = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    await json.text();
    const list = await postMcp(t.mcpUrl, callBody('ops_backup_list'), { authorization: `Bearer ${token}` });
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
    await list.text();

    const client = await t.client(token);
    const messages: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(n.params);
    });

    await client.setLoggingLevel('warning');
    const quiet: Progress[] = [];
    const created = await client.callTool({ name: 'ops_backup_create', arguments: {} }, CallToolResultSchema, { onprogress: (p) => quiet.push(p) });
    expect(created.isError).toBeFalsy();
    expect(quiet.map((p) => [p.progress, p.total])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(quiet[3]!.message).toBe('manifest written');
    expect(messages).toEqual([]); // info lines are below "warning"

    await client.setLoggingLevel('debug');
    const restoreProgress: Progress[] = [];
    const name = (created.structuredContent as Json).name as string;
    const restored = await client.callTool({ name: 'ops_backup_restore', arguments: { name } }, CallToolResultSchema, { onprogress: (p) => restoreProgress.push(p) });
    expect(restored.isError).toBeFalsy();
    expect(restoreProgress.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(messages.map((m) => [m.level, m.logger])).toEqual([
      ['info', 'mcp-financial-server'],
      ['info', 'mcp-financial-server'],
      ['info', 'mcp-financial-server'],
    ]);
    expect(String(messages[0]!.data)).toMatch(/^ops_backup_restore: verified /);

    const evidenceProgress: Progress[] = [];
    const evidence = await client.callTool({ name: 'ops_collect_evidence', arguments: { reason: 'protocol test' } }, CallToolResultSchema, {
      onprogress: (p) => evidenceProgress.push(p),
    });
    expect(evidence.isError).toBeFalsy();
    expect(evidenceProgress.length).toBeGreaterThanOrEqual(3);
    expect(evidenceProgress.map((p) => p.progress)).toEqual(evidenceProgress.map((_, i) => i + 1));
    expect(evidenceProgress.at(-1)!.progress).toBe(evidenceProgress.at(-1)!.total);

    // the level is the caller's, not the pooled server's: another subject still gets info
    const other = await t.client(await t.token('ops:admin', { sub: 'someone-else' }));
    const otherMessages: unknown[] = [];
    other.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      otherMessages.push(n.params);
    });
    await client.setLoggingLevel('emergency');
    await other.callTool({ name: 'ops_backup_create', arguments: {} });
    expect(otherMessages.length).toBe(4);
    await expect(client.setLoggingLevel('loud' as never)).rejects.toMatchObject({ code: -32602 });
  }, 60_000);

  test('a long tool call is an SSE stream on the wire', async () => {
    const res = await postMcp(t.mcpUrl, { ...callBody('ops_backup_create'), params: { name: 'ops_backup_create', arguments: {}, _meta: { progressToken: 7 } } }, {
      authorization: `Bearer ${await t.token('ops:admin')}`,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    const events = body
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as Json);
    expect(events.filter((e) => e.method === 'notifications/progress').map((e) => e.params.progressToken)).toEqual([7, 7, 7, 7]);
    expect(events.at(-1)).toMatchObject({ id: 1, result: { structuredContent: { fileCount: expect.any(Number) } } });
  });

  test('bad tool input is an isError result with a code, never a protocol error; annotations say what each tool does', async () => {
    const bad = await accountsOnly.callTool({ name: 'get_account', arguments: { accountId: 'not an id!' } });
    expect(bad.isError).toBe(true);
    expect((bad.content as Json)[0].text).toMatch(/^E_VALIDATION_FAILED: invalid arguments for get_account: accountId: /);
    const missing = await all.callTool({ name: 'create_transfer', arguments: { fromAccountId: accounts[0]!.id } });
    expect((missing.content as Json)[0].text).toMatch(/^E_VALIDATION_FAILED: /);
    // a path where a backup name belongs is refused by the schema before any file is touched
    const noScope = await opsOnly.callTool({ name: 'ops_backup_verify', arguments: { name: '../../etc/passwd' } });
    expect((noScope.content as Json)[0].text).toMatch(/^E_VALIDATION_FAILED: invalid arguments for ops_backup_verify: name: /);
    await expect(all.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toMatchObject({ code: -32602 });

    const { tools } = await all.listTools();
    for (const tool of tools) {
      expect({ name: tool.name, readOnly: typeof tool.annotations?.readOnlyHint, openWorld: typeof tool.annotations?.openWorldHint }).toEqual({
        name: tool.name,
        readOnly: 'boolean',
        openWorld: 'boolean',
      });
      if (tool.annotations?.readOnlyHint === false) expect({ name: tool.name, destructive: typeof tool.annotations.destructiveHint }).toEqual({ name: tool.name, destructive: 'boolean' });
    }
    const byName = new Map(tools.map((x) => [x.name, x.annotations]));
    expect(byName.get('ops_backup_create')).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false });
    expect(byName.get('ops_set_maintenance')).toMatchObject({ destructiveHint: true, idempotentHint: true });
    expect(byName.get('get_account')).toMatchObject({ readOnlyHint: true });
  });
});

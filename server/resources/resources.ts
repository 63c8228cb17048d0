import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type ListResourcesResult,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CodedError, ErrorCode, NotFoundError, ValidationError } from '../../lib/errors';
import { CurrencySchema } from '../backends/schemas';
import { hasFinance } from '../backends/types';
import { callerFrom, hasScope, issuesText, type ToolCaller, type ToolContext } from '../mcp/tool-context';
import { AccountIdSchema } from '../tools/finance-account-tools';
import { financeOf } from '../tools/finance-format';
import { TransactionIdSchema } from '../tools/finance-transaction-tools';
import type { DocsCatalog } from './docs-catalog';
import { protocolError, requireFinanceOpen, requireScopes } from './resource-errors';

/** A resource template with the scope a read needs (the same as the matching tool's). */
export interface ScopedTemplate extends ResourceTemplate {
  scope: string;
}

export const RESOURCE_TEMPLATES: readonly ScopedTemplate[] = Object.freeze([
  {
    name: 'account',
    uriTemplate: 'account://{accountId}',
    title: 'Account',
    description: 'One account as JSON: owner, type, currency, balance (integer minor units). Scope accounts:read, like get_account.',
    mimeType: 'application/json',
    scope: 'accounts:read',
  },
  {
    name: 'account-transactions',
    uriTemplate: 'account://{accountId}/transactions{?since}',
    title: 'Transactions of an account',
    description:
      'Up to 100 transactions of one account (either side), newest first, since an ISO 8601 time (inclusive) when given. Scope transactions:read, like list_transactions.',
    mimeType: 'application/json',
    scope: 'transactions:read',
  },
  {
    name: 'transaction',
    uriTemplate: 'transaction://{id}',
    title: 'Transaction',
    description: 'One transaction as JSON. Scope transactions:read, like get_transaction.',
    mimeType: 'application/json',
    scope: 'transactions:read',
  },
  {
    name: 'accounts-by-currency',
    uriTemplate: 'accounts://currency/{currency}',
    title: 'Accounts in a currency',
    description: 'Up to 100 accounts held in one ISO 4217 currency. Scope accounts:read, like list_accounts.',
    mimeType: 'application/json',
    scope: 'accounts:read',
  },
]);

/** Documents (guide, runbooks) need ops:read. */
export const DOCS_SCOPE = 'ops:read';

/** Items per resources/list page, unless the server is built with another. */
export const RESOURCE_PAGE_SIZE = 50;
/** Most items a templated read returns (transactions, accounts). */
const READ_LIMIT = 100;

/** The scopes `resources/read` of this URI needs, by its scheme; undefined for a URI we do not serve. */
export function resourceScopes(uri: string): string[] | undefined {
  if (/^account:\/\/[^/?#]+\/transactions(\?|$)/.test(uri)) return ['transactions:read'];
  if (uri.startsWith('account://') || uri.startsWith('accounts://')) return ['accounts:read'];
  if (uri.startsWith('transaction://')) return ['transactions:read'];
  if (uri.startsWith('docs://') || uri.startsWith('runbook://')) return [DOCS_SCOPE];
  return undefined;
}

const CursorSchema = z.union([z.strictObject({ o: z.number().int().min(0) }), z.strictObject({ a: z.string().min(1).max(512).nullable() })]);
type ListPosition = z.infer<typeof CursorSchema>;

const encodeCursor = (p: ListPosition) => Buffer.from(JSON.stringify(p)).toString('base64url');

function decodeCursor(cursor: string | undefined): ListPosition {
  if (cursor === undefined) return { o: 0 };
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('invalid cursor: pass nextCursor from the previous resources/list page as is');
  }
}

const json = (uri: string, value: unknown): ReadResourceResult => ({
  contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
});

function parsed<T>(schema: z.ZodType<T>, value: string, what: string): T {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    throw new ValidationError(`${what}: not valid percent-encoding`);
  }
  const r = schema.safeParse(decoded);
  if (!r.success) throw new ValidationError(`${what}: ${issuesText(r.error)}`);
  return r.data;
}

const SinceSchema = z.iso.datetime({ offset: true });

/**
 * Accounts and transactions as resource templates, the operations guide and
 * the runbooks as read-only text. Every read checks the same scope as the
 * matching tool; `resources/list` shows what the caller may read (documents
 * with ops:read, then accounts with accounts:read), `RESOURCE_PAGE_SIZE` at a
 * time, with an opaque cursor. No subscriptions: a stateless server cannot
 * hold the stream an update would travel on.
 */
export function createResourceCatalog(ctx: ToolContext, docs: DocsCatalog, options: { pageSize?: number } = {}) {
  const PAGE = options.pageSize ?? RESOURCE_PAGE_SIZE;
  async function list(caller: ToolCaller, cursor: string | undefined, signal: AbortSignal): Promise<ListResourcesResult> {
    const pos = decodeCursor(cursor);
    const documents = hasScope(caller.scopes, DOCS_SCOPE) ? docs.documents : [];
    const withAccounts = hasScope(caller.scopes, 'accounts:read') && hasFinance(ctx.backends);
    const resources: Resource[] = [];
    let accountsCursor: string | null | undefined = 'a' in pos ? pos.a : undefined;
    if ('o' in pos) {
      const slice = documents.slice(pos.o, pos.o + PAGE);
      resources.push(...slice.map(({ uri, name, title, description, mimeType }) => ({ uri, name, title, description, mimeType })));
      if (pos.o + PAGE < documents.length) return { resources, nextCursor: encodeCursor({ o: pos.o + PAGE }) };
      if (!withAccounts) return { resources };
      if (resources.length === PAGE) return { resources, nextCursor: encodeCursor({ a: null }) };
      accountsCursor = null;
    }
    if (!withAccounts) throw new CodedError(ErrorCode.Forbidden, 'insufficient_scope: listing accounts needs scope "accounts:read"');
    await requireFinanceOpen(ctx);
    const page = await financeOf(ctx).listAccounts({ limit: PAGE - resources.length, cursor: accountsCursor ?? undefined }, { signal });
    for (const a of page.accounts) {
      resources.push({ uri: `account://${a.id}`, name: `account-${a.id}`, title: `${a.ownerName} (${a.currency} ${a.type})`, mimeType: 'application/json' });
    }
    return page.nextCursor ? { resources, nextCursor: encodeCursor({ a: page.nextCursor }) } : { resources };
  }

  async function read(uri: string, caller: ToolCaller, signal: AbortSignal): Promise<ReadResourceResult> {
    const doc = docs.byUri.get(uri);
    if (doc) {
      requireScopes(caller, [DOCS_SCOPE], uri);
      return { contents: [{ uri, mimeType: doc.mimeType, text: doc.text }] };
    }
    const scopes = resourceScopes(uri);
    if (!scopes) throw new NotFoundError(`no resource ${uri}`);
    requireScopes(caller, scopes, uri);
    if (uri.startsWith('runbook://') || uri.startsWith('docs://')) throw new NotFoundError(`no resource ${uri}: see resources/list`);
    let m: RegExpExecArray | null;
    if ((m = /^account:\/\/([^/?#]+)$/.exec(uri))) {
      const accountId = parsed(AccountIdSchema, m[1]!, 'accountId');
      await requireFinanceOpen(ctx);
      return json(uri, { account: await financeOf(ctx).getAccount(accountId, { signal }) });
    }
    if ((m = /^account:\/\/([^/?#]+)\/transactions(?:\?([^#]*))?$/.exec(uri))) {
      const accountId = parsed(AccountIdSchema, m[1]!, 'accountId');
      const query = new URLSearchParams(m[2] ?? '');
      const unknown = [...query.keys()].filter((k) => k !== 'since');
      if (unknown.length > 0) throw new ValidationError(`unknown query parameter ${unknown[0]}: only since is accepted`);
      const sinceText = query.get('since');
      const since = sinceText === null ? undefined : parsed(SinceSchema, encodeURIComponent(sinceText), 'since');
      await requireFinanceOpen(ctx);
      const page = await financeOf(ctx).listTransactions({ accountId, from: since, limit: READ_LIMIT }, { signal });
      return json(uri, { accountId, since: since ?? null, ...page });
    }
    if ((m = /^transaction:\/\/([^/?#]+)$/.exec(uri))) {
      const id = parsed(TransactionIdSchema, m[1]!, 'id');
      await requireFinanceOpen(ctx);
      return json(uri, { transaction: await financeOf(ctx).getTransaction(id, { signal }) });
    }
    if ((m = /^accounts:\/\/currency\/([^/?#]+)$/.exec(uri))) {
      const currency = parsed(CurrencySchema, m[1]!, 'currency');
      await requireFinanceOpen(ctx);
      return json(uri, { currency, ...(await financeOf(ctx).listAccounts({ currency, limit: READ_LIMIT }, { signal })) });
    }
    throw new NotFoundError(`no resource ${uri}: see resources/templates/list`);
  }

  return { list, read, templates: RESOURCE_TEMPLATES };
}

export type ResourceCatalog = ReturnType<typeof createResourceCatalog>;

const templateList = {
  resourceTemplates: RESOURCE_TEMPLATES.map(({ scope: _scope, ...t }) => t),
};

/** Binds resources/list, resources/templates/list and resources/read to a (per-request) server. */
export function registerResourceHandlers(server: McpServer, catalog: ResourceCatalog): void {
  const s = server.server;
  s.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    try {
      return await catalog.list(callerFrom(extra.authInfo), request.params?.cursor, extra.signal);
    } catch (err) {
      throw protocolError(err);
    }
  });
  s.setRequestHandler(ListResourceTemplatesRequestSchema, () => templateList);
  s.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    try {
      return await catalog.read(request.params.uri, callerFrom(extra.authInfo), extra.signal);
    } catch (err) {
      throw protocolError(err);
    }
  });
}

/**
 * Every scope a token for the MCP Financial Server can carry. `x:admin`
 * implies `x:write` and `x:read`; `x:write` implies `x:read`.
 */
export const SCOPES = ['accounts:read', 'transactions:read', 'transactions:write', 'ops:read', 'ops:admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isKnownScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

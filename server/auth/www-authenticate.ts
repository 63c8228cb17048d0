/**
 * `WWW-Authenticate: Bearer ...` challenges in RFC 6750 §3 syntax. Values are
 * quoted-strings, and RFC 6750 restricts `error_description` (and `scope`) to
 * %x20-21 / %x23-5B / %x5D-7E: no `"`, no `\`, nothing outside printable ASCII.
 * A message such as `algorithm "none" is not accepted` is therefore rewritten
 * (`"` becomes `'`) rather than escaped, so every parser reads it the same way.
 */
export interface BearerChallenge {
  /** RFC 6750 §3.1 error code; omitted when the request carried no credentials at all. */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
  /** Space-separated scopes the resource needs (insufficient_scope). */
  scope?: string;
  /** RFC 9728 §5.1: where the protected-resource metadata is. */
  resourceMetadata?: string;
}

/** Replaces every character RFC 6750 forbids inside a quoted value. */
export function challengeValue(text: string): string {
  return text
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x7e]/g, '?');
}

export function bearerChallenge(c: BearerChallenge): string {
  const params: string[] = [];
  if (c.error) params.push(`error="${c.error}"`);
  if (c.error && c.description) params.push(`error_description="${challengeValue(c.description)}"`);
  if (c.scope) params.push(`scope="${challengeValue(c.scope)}"`);
  // URLs never contain `"` or `\` once serialised by WHATWG URL; challengeValue is a last guard.
  if (c.resourceMetadata) params.push(`resource_metadata="${challengeValue(c.resourceMetadata)}"`);
  return params.length > 0 ? `Bearer ${params.join(', ')}` : 'Bearer';
}

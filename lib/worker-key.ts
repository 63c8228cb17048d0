import crypto, { type KeyObject } from 'node:crypto';
import { ConfigError } from './errors';

/**
 * The workers' own signing key (Ed25519): the workers hold the private half and mint short tokens for
 * the MCP server; the server holds the public half and accepts what it signs only for WORKER_SCOPES.
 * So a compromised worker can mint ops tokens, never a finance scope, and never holds JWT_SECRET.
 *
 * In env a key is PEM (newlines or `\n` escapes) or the base64 of its DER (SPKI for the public key,
 * PKCS#8 for the private one): one line, so it fits an env file.
 */

/** What the workers' runbook actions need: the ops tools. Never a finance scope. */
export const WORKER_SCOPES = ['ops:admin', 'ops:read'] as const;

function parseKey(text: string, kind: 'public' | 'private'): KeyObject {
  const value = text.trim().replace(/\\n/g, '\n');
  const key = value.includes('-----BEGIN')
    ? kind === 'public'
      ? crypto.createPublicKey(value)
      : crypto.createPrivateKey(value)
    : kind === 'public'
      ? crypto.createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' })
      : crypto.createPrivateKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** A parsed key, or a ConfigError naming the variable. */
export function workerKey(text: string, kind: 'public' | 'private', variable: string): KeyObject {
  try {
    return parseKey(text, kind);
  } catch (err) {
    throw new ConfigError(`${variable}: not an Ed25519 ${kind} key (PEM, or base64 DER): ${(err as Error).message}`);
  }
}

/** True when `text` parses as an Ed25519 key of that kind (for env validation). */
export function isWorkerKey(text: string, kind: 'public' | 'private'): boolean {
  try {
    parseKey(text, kind);
    return true;
  } catch {
    return false;
  }
}

/** A fresh key pair as one-line env values (base64 DER): what `npm start` generates. */
export function generateWorkerKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

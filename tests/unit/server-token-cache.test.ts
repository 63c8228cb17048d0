import { SignJWT, type JWTPayload } from 'jose';
import { createJwtVerifier, JwtVerificationError } from '../../server/auth/jwt-verifier';
import { createTokenCache } from '../../server/auth/token-cache';

const SECRET = 'token-cache-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: JWTPayload, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));

describe('token cache', () => {
  test('an entry lives until min(exp, stored + maxAge)', () => {
    let clock = 1_000_000;
    const cache = createTokenCache<string>({ maxAgeMs: 60_000, now: () => clock });
    cache.set('long', 'a', (clock + 3_600_000) / 1000); // exp in an hour: maxAge wins
    cache.set('short', 'b', (clock + 10_000) / 1000); // exp in 10 s: exp wins
    clock += 9_999;
    expect(cache.get('short')).toBe('b');
    clock += 1;
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('long')).toBe('a');
    clock += 50_000; // 60 s after it was stored
    expect(cache.get('long')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('an already expired token is not stored', () => {
    const clock = 5_000_000;
    const cache = createTokenCache<string>({ now: () => clock });
    cache.set('old', 'x', clock / 1000 - 1);
    cache.set('now', 'y', clock / 1000);
    expect(cache.size).toBe(0);
  });

  test('bounded LRU: the least recently used entry is dropped first', () => {
    const clock = 0;
    const cache = createTokenCache<number>({ maxEntries: 2, now: () => clock });
    const exp = 3600;
    cache.set('a', 1, exp);
    cache.set('b', 2, exp);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3, exp);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
  });
});

describe('JWT verifier with the cache', () => {
  test('the same token string is verified once; another string (even one byte) is verified on its own', async () => {
    let clock = Date.now();
    const verifier = createJwtVerifier({ secret: SECRET, cache: { now: () => clock } });
    const token = await sign({ sub: 'a', scope: 'accounts:read', exp: now() + 600 });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    expect(verifier.cacheSize()).toBe(1);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes)).toBe(true);

    const other = await sign({ sub: 'a', scope: 'accounts:read', exp: now() + 601 });
    expect(await verifier.verify(other)).not.toBe(first);
    expect(verifier.cacheSize()).toBe(2);

    // A changed signature byte is a different key, and is refused, not served from the cache.
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    await expect(verifier.verify(tampered)).rejects.toMatchObject({ reason: 'signature' });

    clock += 60_001; // the cache's minute is over: verified again, a fresh object
    const again = await verifier.verify(token);
    expect(again).not.toBe(first);
    expect(again.subject).toBe('a');
  });

  test('failures are never cached: a refused token is refused every time', async () => {
    const verifier = createJwtVerifier({ secret: SECRET });
    const wrongKey = await sign({ sub: 'm', exp: now() + 600 }, 'another-secret-of-enough-length');
    const expired = await sign({ sub: 'm', exp: now() - 600 });
    for (let i = 0; i < 3; i += 1) {
      await expect(verifier.verify(wrongKey)).rejects.toBeInstanceOf(JwtVerificationError);
      await expect(verifier.verify(expired)).rejects.toMatchObject({ reason: 'expired' });
    }
    expect(verifier.cacheSize()).toBe(0);
  });

  test('cache: false verifies every time', async () => {
    const verifier = createJwtVerifier({ secret: SECRET, cache: false });
    const token = await sign({ sub: 'a', exp: now() + 600 });
    expect(await verifier.verify(token)).not.toBe(await verifier.verify(token));
    expect(verifier.cacheSize()).toBe(0);
  });
});

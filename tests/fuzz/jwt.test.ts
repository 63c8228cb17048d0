import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import http from 'node:http';
import { listen, type RunningServer } from '../../lib/http';
import { callBody, postMcp, startTestServer, TEST_SECRET, type TestServer } from '../integration/server-harness';
import { runs } from './fuzz';

/**
 * Random claim sets and headers at the MCP server's /mcp: every part of a
 * token is drawn either from values that should pass or from ones that must
 * not (wrong type, wrong value, absent, out of the time window, another key,
 * another algorithm). Only a token made entirely of good parts is accepted
 * (200); every other one is refused 401 (bad token) or 403 (good token, no
 * scope for the tool). Never a 5xx.
 */
jest.setTimeout(90_000);

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'mcp-financial-server';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const ABSENT = Symbol('absent');

/** A claim value with whether it should pass; `ABSENT` leaves the claim out. */
type Part = { v: unknown; ok: boolean };
const good = (v: fc.Arbitrary<unknown>): fc.Arbitrary<Part> => v.map((x) => ({ v: x, ok: true }));
const bad = (v: fc.Arbitrary<unknown>): fc.Arbitrary<Part> => v.map((x) => ({ v: x, ok: false }));
/** A value of any JSON type but number. */
/** About four parts in five are good, so whole good tokens (and good ones short of a scope) come up often. */
const part = (goods: fc.Arbitrary<Part>[], bads: fc.Arbitrary<Part>[]): fc.Arbitrary<Part> =>
  fc.oneof({ weight: 4, arbitrary: fc.oneof(...goods) }, { weight: 1, arbitrary: fc.oneof(...bads) });
const nonNumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }));
const nonString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));

// Times are offsets from now, kept well clear of the 30 s skew so the oracle never races the clock.
const claims = {
  iss: part([good(fc.constant(ISSUER))], [bad(fc.string().filter((s) => s !== ISSUER)), bad(nonString), bad(fc.constant(ABSENT)), bad(fc.constant(`${ISSUER}/`))]),
  aud: part([good(fc.constant(AUDIENCE)), good(fc.array(fc.string(), { maxLength: 3 }).map((a) => [...a, AUDIENCE]))], [bad(fc.string().filter((s) => s !== AUDIENCE)), bad(fc.array(fc.string().filter((s) => s !== AUDIENCE), { maxLength: 3 })), bad(fc.constant(ABSENT)), bad(fc.oneof(fc.integer(), fc.constant(null), fc.boolean()))]),
  sub: part([good(fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !s.includes(' ')))], [bad(fc.constantFrom('', ' ', '\t')), bad(nonString), bad(fc.constant(ABSENT))]),
  exp: part([good(fc.integer({ min: 120, max: 3600 }))], [bad(fc.integer({ min: -86_400 * 400, max: -120 })), bad(fc.integer({ min: 86_400 + 3_700, max: 86_400 * 400 })) /* lifetime beyond 24 h whatever iat is */, bad(nonNumber), bad(fc.constant(ABSENT))]),
  nbf: part([good(fc.constant(ABSENT)), good(fc.integer({ min: -3600, max: -120 }))], [bad(fc.integer({ min: 120, max: 86_400 * 10 })), bad(nonNumber)]),
  iat: part([good(fc.constant(ABSENT)), good(fc.integer({ min: -3600, max: -120 }))], [bad(fc.integer({ min: 120, max: 86_400 * 10 })), bad(nonNumber)]),
  /** 'bad' here means a good token without the tool's scope: 403, not 401. */
  scope: part([good(fc.constantFrom({ scope: 'ops:read' }, { scope: 'ops:read ops:admin' }, { scope: ' ops:read  ' }, { scp: ['ops:read'] }))], [bad(fc.constantFrom({ scope: '' }, { scope: 'accounts:read' }, { scope: 'OPS:READ' }, { scope: 'ops:read,ops:admin' }, { scp: 'ops:read' }, {})), bad(fc.oneof(nonString, fc.string().filter((s) => !s.split(' ').includes('ops:read'))).map((s) => ({ scope: s })))]),
};

type Signer = { ok: boolean; name: string; sign: (payload: JWTPayload) => Promise<string> };
const raw = (header: unknown, payload: JWTPayload, sig = '') => `${b64(header)}.${b64(payload)}.${sig}`;
const hs = (secret: string, alg = 'HS256', extra: Record<string, unknown> = {}) => (p: JWTPayload) =>
  new SignJWT(p).setProtectedHeader({ alg, typ: 'JWT', ...extra }).sign(new TextEncoder().encode(secret));

const goodSigner: fc.Arbitrary<Signer> = fc.oneof(
  fc.constant<Signer>({ ok: true, name: 'HS256 with the secret', sign: hs(TEST_SECRET) }),
  fc.string({ maxLength: 20 }).map((kid): Signer => ({ ok: true, name: 'HS256 with the secret and any kid', sign: hs(TEST_SECRET, 'HS256', { kid }) })),
);
const badSigner: fc.Arbitrary<Signer> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== TEST_SECRET).map((s): Signer => ({ ok: false, name: `HS256 with ${JSON.stringify(s)}`, sign: hs(s) })),
  fc.constantFrom('HS384', 'HS512').map((alg): Signer => ({ ok: false, name: `${alg} with the secret`, sign: hs(TEST_SECRET, alg) })),
  fc.constantFrom('none', 'None', 'NONE', '').map((alg): Signer => ({ ok: false, name: `alg ${alg}`, sign: async (p) => raw({ alg, typ: 'JWT' }, p) })),
  fc.constant<Signer>({ ok: false, name: 'no alg', sign: async (p) => raw({ typ: 'JWT' }, p, 'c2ln') }),
  fc.string({ maxLength: 40 }).map((sig): Signer => ({ ok: false, name: 'HS256 header, random signature', sign: async (p) => raw({ alg: 'HS256', typ: 'JWT' }, p, Buffer.from(sig).toString('base64url')) })),
);

const signer = fc.oneof({ weight: 4, arbitrary: goodSigner }, { weight: 1, arbitrary: badSigner });
const tokenCase = fc.record({ signer, ...claims });
type TokenCase = typeof tokenCase extends fc.Arbitrary<infer T> ? T : never;

function payloadOf(c: TokenCase): JWTPayload {
  const t = now();
  const p: Record<string, unknown> = {};
  const put = (name: string, part: Part, offset = false) => {
    if (part.v === ABSENT) return;
    p[name] = offset && typeof part.v === 'number' ? t + part.v : part.v;
  };
  put('iss', c.iss);
  put('aud', c.aud);
  put('sub', c.sub);
  put('exp', c.exp, true);
  put('nbf', c.nbf, true);
  put('iat', c.iat, true);
  Object.assign(p, c.scope.v as object);
  return p as JWTPayload;
}

/** 200 only when every part is good; 403 when only the scope is wrong; 401 otherwise. */
function expectedStatus(c: TokenCase): number {
  const tokenOk = c.signer.ok && [c.iss, c.aud, c.sub, c.exp, c.nbf, c.iat].every((part) => part.ok);
  if (!tokenOk) return 401;
  return c.scope.ok ? 200 : 403;
}

describe('random claim sets at /mcp (HS256, issuer and audience set)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => t?.close());

  it('only the all-good combination is accepted; the rest are 401, or 403 for a missing scope; never 5xx', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(tokenCase, { minLength: 5, maxLength: 5 }), async (cases) => {
        await Promise.all(
          cases.map(async (c) => {
            const payload = payloadOf(c);
            const token = await c.signer.sign(payload);
            const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
            const want = expectedStatus(c);
            seen.set(want, (seen.get(want) ?? 0) + 1);
            expect({ signer: c.signer.name, payload, status: res.status }).toEqual({ signer: c.signer.name, payload, status: want });
            if (want === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
            if (want === 200) expect(await res.text()).not.toMatch(/"isError":true/);
            else expect(((await res.json()) as { error: string }).error).toBe(want === 401 ? 'invalid_token' : 'insufficient_scope');
          }),
        );
      }),
      runs(100),
    );
    // The generators reach all three outcomes, accepted ones included.
    expect([...seen.keys()].sort()).toEqual([200, 401, 403]);
  });
});

describe('RS256 from a JWKS: wrong kid, another key, HS256 keyed with the public key', () => {
  let jwks: RunningServer;
  let t: TestServer;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let other: Awaited<ReturnType<typeof generateKeyPair>>;
  let publicJwk: string;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    other = await generateKeyPair('RS256');
    const keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }];
    publicJwk = JSON.stringify(keys[0]);
    jwks = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    }, 0);
    t = await startTestServer({ JWT_SECRET: '', JWT_JWKS_URL: `${jwks.url}/jwks.json`, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => {
    await t?.close();
    await jwks?.close();
  });

  it('only RS256 by the published key under its kid passes', async () => {
    const claimsNow = (): JWTPayload => ({ sub: 'svc', scope: 'ops:read', aud: AUDIENCE, iat: now() - 1, exp: now() + 300 });
    const kid = fc.oneof(fc.constant('rsa-1'), fc.string({ maxLength: 20 }).filter((k) => k !== 'rsa-1'), fc.constant(undefined));
    const how = fc.constantFrom('published key', 'another key', 'HS256 with the public JWK', 'HS256 with the public PEM-ish text');
    await fc.assert(
      fc.asyncProperty(kid, how, async (k, h) => {
        const header = { alg: h.startsWith('HS256') ? 'HS256' : 'RS256', ...(k === undefined ? {} : { kid: k }) };
        const jwt = new SignJWT(claimsNow()).setProtectedHeader(header);
        const token =
          h === 'published key' ? await jwt.sign(rsa.privateKey)
          : h === 'another key' ? await jwt.sign(other.privateKey)
          : await jwt.sign(new TextEncoder().encode(h.endsWith('JWK') ? publicJwk : `-----BEGIN PUBLIC KEY-----\n${publicJwk}\n-----END PUBLIC KEY-----`));
        // jose picks the JWKS key by kid; without a kid the single published key is used.
        const want = h === 'published key' && (k === 'rsa-1' || k === undefined) ? 200 : 401;
        const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
        expect({ kid: k, how: h, status: res.status }).toEqual({ kid: k, how: h, status: want });
      }),
      runs(40),
    );
  });
});

import fc from 'fast-check';
import { Readable } from 'node:stream';
import { alertmanagerFixture } from '../helpers/fixtures';
import { startBotHarness, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { hostileString, runs } from './fuzz';
import { snapshotPrefix } from './redis-snapshot';

/**
 * Hostile bodies at the real bot's Alertmanager webhook over real HTTP:
 * malformed, oversized (> 1 MB), deeply nested, wrong types and missing
 * fields around valid-shaped payloads. Never a 5xx, always the 4xx the route
 * defines with a JSON reason, and Redis under the bot's prefix unchanged
 * (names, types and a digest of every key) after each refused request.
 */
jest.setTimeout(120_000);

const LIMIT = 1024 * 1024; // the route's '1mb'
type Json = Record<string, unknown>;

let h: BotHarness;
let url: string;
/** BullMQ's own housekeeping key ticks on its own; nothing a request writes. */
const housekeeping = (key: string) => key.endsWith(':stalled-check');
const snapshot = () => snapshotPrefix(h.redis, h.prefix, housekeeping);

beforeAll(async () => {
  h = await startBotHarness();
  url = `${h.botUrl}/alertmanager/webhook`;
});
afterAll(async () => {
  await h?.close();
});

interface Sent {
  status: number;
  body: { ok?: unknown; error?: unknown; message?: unknown };
}

async function post(body: string | Buffer | Readable, headers: Record<string, string> = {}): Promise<Sent> {
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}`, ...headers },
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
  };
  if (body instanceof Readable) init.duplex = 'half';
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: Sent['body'];
  try {
    parsed = JSON.parse(text) as Sent['body'];
  } catch {
    throw new Error(`status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}

interface Expected {
  send: () => Promise<Sent>;
  status: number;
  errors: string[];
}

/**
 * A batch of requests sent together; each must get its status and JSON
 * reason, and Redis must be the same after the batch as before it.
 */
async function refused(batch: Expected[]): Promise<void> {
  const before = await snapshot();
  const answers = await Promise.all(batch.map((b) => b.send()));
  answers.forEach((res, i) => {
    const { status, errors } = batch[i]!;
    expect({ i, status: res.status, ok: res.body.ok, known: errors.includes(String(res.body.error)), message: typeof res.body.message }).toEqual({
      i,
      status,
      ok: false,
      known: true,
      message: 'string',
    });
  });
  expect(await snapshot()).toEqual(before);
}

/** Requests go in batches of 4 to 8: one snapshot pair per batch. */
const batch = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 4, maxLength: 8 });

// ---- valid-shaped payloads, then one or more changes that each make them invalid ----

const labelName = fc.oneof(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,20}$/), hostileString(20));
const labelSet = (max: number) => fc.dictionary(labelName, hostileString(60), { maxKeys: max });
const hugeLabelSet = fc.oneof({ weight: 4, arbitrary: labelSet(8) }, { weight: 1, arbitrary: labelSet(3000) });

const validAlert = fc.record({
  status: fc.constantFrom('firing', 'resolved'),
  labels: fc.tuple(hugeLabelSet, fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' })).map(([l, name]) => ({ ...l, alertname: name })),
  annotations: labelSet(5),
  startsAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  endsAt: fc.constant('0001-01-01T00:00:00Z'),
  generatorURL: hostileString(80),
  fingerprint: fc.stringMatching(/^[0-9a-f]{1,64}$/),
});

const validPayload = fc.record({
  version: fc.constant('4'),
  groupKey: fc.string({ minLength: 1, maxLength: 100, unit: 'grapheme' }),
  truncatedAlerts: fc.nat(10),
  status: fc.constantFrom('firing', 'resolved'),
  receiver: fc.string({ minLength: 1, maxLength: 50, unit: 'grapheme' }),
  groupLabels: labelSet(4),
  commonLabels: labelSet(4),
  commonAnnotations: labelSet(4),
  externalURL: hostileString(40),
  alerts: fc.array(validAlert, { minLength: 1, maxLength: 4 }),
});

/** A JSON value that is not a string. */
const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
const notLabelSet = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.string(), { minLength: 1, maxLength: 2 }), fc.tuple(labelName, notString).map(([k, v]) => ({ [k]: v })));

type Mutation = (p: Json) => void;
const set = (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Mutation> =>
  value.map((v) => (p: Json) => {
    p[field] = v;
  });

const topMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom('version', 'groupKey', 'status', 'receiver', 'alerts').map((f) => (p: Json) => {
    delete p[f];
  }),
  set('version', fc.oneof(fc.constant(4), fc.constant('3'), fc.constant('5'), fc.constant(null), fc.string().filter((s) => s !== '4'))),
  set('groupKey', fc.oneof(notString, fc.constant(''), fc.string({ minLength: 4097, maxLength: 5000 }))),
  set('status', fc.oneof(notString, fc.string().filter((s) => s !== 'firing' && s !== 'resolved'), fc.constant('FIRING'))),
  set('receiver', fc.oneof(notString, fc.constant(''), fc.string({ minLength: 257, maxLength: 400 }))),
  set('truncatedAlerts', fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 1e6, noNaN: true }).filter((n) => !Number.isInteger(n)), fc.string(), fc.constant(null))),
  set('alerts', fc.oneof(fc.constant([]), fc.string(), fc.integer(), fc.constant(null), fc.dictionary(fc.string(), fc.string()))),
  fc.constantFrom('groupLabels', 'commonLabels', 'commonAnnotations').chain((f) => set(f, notLabelSet)),
  set('externalURL', notString),
);

type AlertMutation = (a: Json) => void;
const setA = (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<AlertMutation> =>
  value.map((v) => (a: Json) => {
    a[field] = v;
  });
const alertMutation: fc.Arbitrary<AlertMutation> = fc.oneof(
  fc.constantFrom('status', 'labels', 'startsAt', 'fingerprint').map((f) => (a: Json) => {
    delete a[f];
  }),
  setA('status', fc.oneof(notString, fc.string().filter((s) => s !== 'firing' && s !== 'resolved'))),
  setA('labels', notLabelSet),
  fc.constantFrom(undefined, '', 42, null).map((name) => (a: Json) => {
    const labels = { ...(a.labels as Json) };
    if (name === undefined) delete labels.alertname;
    else labels.alertname = name;
    a.labels = labels;
  }),
  fc.tuple(labelName, notString).map(([k, v]) => (a: Json) => {
    a.labels = { ...(a.labels as Json), [k]: v };
  }),
  setA('annotations', notLabelSet),
  setA('startsAt', fc.oneof(notString, fc.constantFrom('', 'yesterday', '2026-13-01T00:00:00Z', '2026-01-01', '2026-01-01T00:00:00Z\u0000'))),
  setA('fingerprint', fc.oneof(notString, fc.constant(''), fc.stringMatching(/^[0-9a-f]{65,80}$/), fc.constantFrom('xyz', 'abc\u0000', 'f3eb 5c64', '../../etc'))),
  setA('endsAt', notString),
  setA('generatorURL', notString),
);

const invalidPayload = fc
  .tuple(
    validPayload,
    fc.array(fc.tuple(fc.nat(), alertMutation), { maxLength: 2 }),
    fc.array(topMutation, { maxLength: 2 }),
    fc.oneof(fc.constant(undefined), fc.string(), fc.constant(null)),
  )
  .filter(([, am, tm]) => am.length + tm.length > 0)
  .map(([payload, alertMutations, topMutations, notAnAlert]) => {
    const p = payload as unknown as Json;
    const alerts = p.alerts as Json[];
    for (const [i, m] of alertMutations) m(alerts[i % alerts.length]!);
    // Sometimes one element of alerts is not an object at all.
    if (notAnAlert !== undefined && alertMutations.length > 0) alerts.push(notAnAlert as unknown as Json);
    for (const m of topMutations) m(p);
    return p;
  });

const LABEL_MSG = 'invalid_payload';

describe('the webhook refuses hostile bodies with the right 4xx and changes nothing', () => {
  it('valid-shaped payloads with wrong types, missing fields, out-of-range values, huge label sets, unicode and NULs: 400 invalid_payload', async () => {
    const one = invalidPayload.map((p): Expected => ({ send: () => post(JSON.stringify(p)), status: 400, errors: [LABEL_MSG] }));
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(120));
  });

  it('arbitrary JSON values and arbitrary text: 400 (invalid_json or invalid_payload)', async () => {
    const body = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.constantFrom('', '{', '[', '{"version":"4"', 'null', '"4"', '42', 'true', '\u0000', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}'),
    );
    const one = body.map((b): Expected => ({ send: () => post(b), status: 400, errors: ['invalid_json', 'invalid_payload'] }));
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(80));
  });

  it('deeply nested bodies (whole body, or in labels, annotations, alerts): 400, or 413 past the limit', async () => {
    const nest = (d: number, kind: 'array' | 'object') => (kind === 'array' ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d));
    const one = fc
      .tuple(fc.integer({ min: 50, max: 200_000 }), fc.constantFrom('array' as const, 'object' as const), fc.constantFrom('body', 'labels', 'annotations', 'alerts', 'alertname', 'groupLabels'))
      .map(([d, kind, at]): Expected => {
        const deep = nest(kind === 'object' ? Math.min(d, 150_000) : d, kind);
        let body: string;
        if (at === 'body') body = deep;
        else {
          const p = alertmanagerFixture('high-error-rate.firing') as unknown as Json;
          const alert = (p.alerts as Json[])[0]!;
          if (at === 'labels') alert.labels = { alertname: 'X', deep: '__DEEP__' };
          else if (at === 'annotations') alert.annotations = { deep: '__DEEP__' };
          else if (at === 'alertname') alert.labels = { alertname: '__DEEP__' };
          else if (at === 'groupLabels') p.groupLabels = { deep: '__DEEP__' };
          else p.alerts = '__DEEP__';
          body = JSON.stringify(p).replace('"__DEEP__"', deep);
        }
        return Buffer.byteLength(body) > LIMIT
          ? { send: () => post(body), status: 413, errors: ['too_large'] }
          : { send: () => post(body), status: 400, errors: ['invalid_json', 'invalid_payload'] };
      });
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(12));
  });

  it('bodies around and past 1 MB: 413 too_large past the limit (with or without Content-Length), a 400 at it', async () => {
    const size = fc.oneof(fc.integer({ min: LIMIT - 3, max: LIMIT + 3 }), fc.integer({ min: LIMIT + 1, max: 3 * LIMIT }));
    const one = fc.tuple(size, fc.boolean(), fc.constantFrom('annotation', 'garbage')).map(([n, chunked, shape]): Expected => {
      let body: Buffer;
      if (shape === 'garbage') body = Buffer.alloc(n, 'x');
      else {
        // A valid payload but for its fingerprint, padded to exactly n bytes with a (two-byte) unicode annotation.
        const p = alertmanagerFixture('high-error-rate.firing');
        p.alerts[0]!.fingerprint = 'not-hex';
        const bare = Buffer.byteLength(JSON.stringify({ ...p, commonAnnotations: { pad: '' } }));
        body = Buffer.from(JSON.stringify({ ...p, commonAnnotations: { pad: 'é'.repeat(Math.floor((n - bare) / 2)) + 'x'.repeat((n - bare) % 2) } }));
      }
      if (body.length !== n) throw new Error(`built ${body.length} bytes, wanted ${n}`);
      const send = () => post(chunked ? Readable.from([body.subarray(0, 65536), body.subarray(65536)]) : body);
      if (n > LIMIT) return { send, status: 413, errors: ['too_large'] };
      return { send, status: 400, errors: shape === 'garbage' ? ['invalid_json'] : ['invalid_payload'] };
    });
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(8));
  });

  it('a wrong or missing bearer token: 401 before the body is read, even for a valid or oversized body', async () => {
    const header = fc
      .oneof(
        fc.constant(''),
        fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
        fc.constantFrom(`Basic ${WEBHOOK_TOKEN}`, `Bearer ${WEBHOOK_TOKEN}x`, `Bearer ${WEBHOOK_TOKEN.slice(0, -1)}`, `${WEBHOOK_TOKEN}`, 'Bearer', `Bearer ${WEBHOOK_TOKEN.toUpperCase()}`),
      )
      .filter((v) => !/^Bearer\s+/i.test(v) || v.replace(/^Bearer\s+/i, '').trim() !== WEBHOOK_TOKEN);
    const valid = JSON.stringify(alertmanagerFixture('high-error-rate.firing'));
    const one = fc.tuple(header, fc.constantFrom('valid', 'huge', 'garbage')).map(([auth, kind]): Expected => {
      const body = kind === 'valid' ? valid : kind === 'huge' ? Buffer.alloc(LIMIT + 10, '{') : '{';
      return { send: () => post(body, { Authorization: auth }), status: 401, errors: ['unauthorized'] };
    });
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(30));
  });

  it('an unsupported Content-Encoding is 415; gzip or deflate that is not is 400', async () => {
    const encoding = fc.oneof(
      fc.constantFrom('compress', 'x-unknown', 'zstd', 'gzip, identity, foo', 'base64'),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((e) => !['gzip', 'deflate', 'br', 'identity', 'x-gzip'].includes(e)),
    );
    const valid = JSON.stringify(alertmanagerFixture('high-error-rate.firing'));
    const one = fc.oneof(encoding.map((e) => [e, 415] as const), fc.constantFrom(['gzip', 400] as const, ['deflate', 400] as const)).map(
      ([enc, status]): Expected => ({ send: () => post(valid, { 'Content-Encoding': enc }), status, errors: status === 415 ? ['unsupported_encoding'] : ['invalid_body'] }),
    );
    await fc.assert(fc.asyncProperty(batch(one), refused), runs(15));
  });

  it('the bot is still up and healthy after all of it', async () => {
    const res = await fetch(`${h.botUrl}/health`);
    expect(res.status).toBe(200);
    // and still takes a valid alert, which the snapshot sees (the control: the snapshot can tell)
    const before = await snapshot();
    const p = alertmanagerFixture('high-error-rate.firing');
    p.groupKey = '{}:{alertname="AfterFuzz"}';
    expect(await h.alert(p)).toMatch(/^INC-/);
    expect(await snapshot()).not.toEqual(before);
  });
});

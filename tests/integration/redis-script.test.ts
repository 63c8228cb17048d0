import crypto from 'node:crypto';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { closeRedis } from '../../lib/redis';
import { redisScript } from '../../lib/redis-script';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

describe('redisScript: EVALSHA with a fallback to the text (real Redis)', () => {
  const redis = testRedis();
  const prefix = testPrefix('script');

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('runs a script Redis has never seen (NOSCRIPT: sends the text once), then by its SHA1', async () => {
    // A script no one has loaded: a random comment gives it a SHA1 of its own (no SCRIPT FLUSH on a shared server).
    const lua = `-- ${crypto.randomUUID()}\nredis.call('INCRBY', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])`;
    const script = redisScript(lua);
    expect(script.sha).toBe(crypto.createHash('sha1').update(lua).digest('hex'));
    expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
    const key = `${prefix}:n`;
    expect(await script.run(redis, 1, key, 2)).toBe('2');
    expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(redis, 1, key, 3)).toBe('5');
  });

  it('passes a script error through unchanged, once (not retried as EVAL)', async () => {
    const script = redisScript(`-- ${crypto.randomUUID()}\nredis.call('INCR', KEYS[1])\nreturn redis.error_reply('BADINPUT nope')`);
    const key = `${prefix}:err`;
    await expect(script.run(redis, 1, key)).rejects.toThrow('BADINPUT nope');
    await expect(script.run(redis, 1, key)).rejects.toThrow('BADINPUT nope');
    expect(await redis.get(key)).toBe('2');
  });
});

describe('incident store ingest returns the incident it left (real Redis)', () => {
  const redis = testRedis();
  const prefix = testPrefix('ingest-read');
  const store = createIncidentStore({ redis, prefix });
  const meta = {
    priority: 'P2' as const,
    priorityRule: 'severity high',
    policy: 'high',
    route: 'ops-critical',
    title: 'ReadBack',
    summary: '',
    labels: { alertname: 'ReadBack' },
    generatorURL: '',
    runbookUrl: '',
    externalURL: '',
  };

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('is what get() reads, with the first notification’s group labels, on open, repeat and resolve', async () => {
    const p = firingFor('ReadBack');
    p.groupLabels = { alertname: 'ReadBack', env: 'first' };
    const opened = await store.ingest(p, meta);
    expect(opened.incident).toEqual(await store.get(opened.incidentId));
    expect(opened.incident).toMatchObject({ state: 'triggered', firing: 1, groupLabels: { alertname: 'ReadBack', env: 'first' } });
    // A repeat that changes nothing carries no copy of the incident, only whether its root is posted.
    const repeat = await store.ingest({ ...p, groupLabels: { alertname: 'ReadBack', env: 'second' } }, meta);
    expect(repeat).toMatchObject({ incidentId: opened.incidentId, created: false, changed: false, quiet: { rootPosted: false } });
    expect(repeat.incident).toBeUndefined();
    expect((await store.get(opened.incidentId))?.groupLabels).toEqual({ alertname: 'ReadBack', env: 'first' });
    await store.setRootMessage(opened.incidentId, 'C0READBACK', '1700000000.000100');
    expect((await store.ingest(p, meta)).quiet).toEqual({ rootPosted: true });
    // A repeat that changes something (a second alert) carries the incident as it is now.
    const grown = { ...p, alerts: [...p.alerts, { ...p.alerts[0]!, fingerprint: 'readback-2', labels: { ...p.alerts[0]!.labels, instance: 'b' } }] };
    const changed = await store.ingest(grown, meta);
    expect(changed).toMatchObject({ changed: true, incident: { firing: 2 } });
    expect(changed.quiet).toBeUndefined();
    expect(changed.incident).toEqual(await store.get(opened.incidentId));
    const resolved = await store.ingest(resolvedVersion(grown), meta);
    expect(resolved).toMatchObject({ resolvedNow: true, incident: { state: 'resolved', firing: 0, resolved: 2 } });
    expect(resolved.incident).toEqual(await store.get(opened.incidentId));
    // A resolve for no open incident returns none.
    const none = await store.ingest(resolvedVersion(firingFor('NeverOpened')), meta);
    expect(none.incidentId).toBe('');
    expect(none.incident).toBeUndefined();
  });
});

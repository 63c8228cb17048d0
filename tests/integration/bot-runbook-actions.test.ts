import type { Job } from 'bullmq';
import { ACTION_POLICIES, type ActionName } from '../../lib/action-catalog';
import { RunbookActionJobSchema, type RunbookActionJob } from '../../lib/contracts';
import { DEFAULT_USERGROUPS, DEFAULT_USERS, type PersonActionResponse } from '../../sandbox/slack';
import { alertmanagerFixture, firingFor } from '../helpers/fixtures';
import { SIGNING_SECRET, startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { signedSlackHeaders } from '../../lib/slack-signature';
import { eventually } from '../helpers/ports';

jest.setTimeout(120_000);

/**
 * Runbook actions from the click or command to the enqueued job, through the
 * real bot (Bolt, Redis, BullMQ) and the sandbox Slack. No worker runs here:
 * each job is read back from the queue and parsed with the worker's contract.
 */
describe('runbook actions: RBAC, confirmation, approval, locks, diagnostics, audit', () => {
  let h: BotHarness;
  let clockOffsetMs = 0;
  const CRIT = 'C0OPSCRIT';
  const ALRT = 'C0OPSALRT';

  beforeAll(async () => {
    h = await startBotHarness({
      deps: { escalation: false, now: () => new Date(Date.now() + clockOffsetMs) },
      slack: {
        users: [
          ...DEFAULT_USERS,
          // In no RBAC entry: a responder only through the @ops-leads user group.
          { id: 'U0DAVE', name: 'dave' },
          // Another person whose user name is "bob": a name is not an identity.
          { id: 'U0MALLORY', name: 'bob', realName: 'Not Bob' },
        ],
        usergroups: DEFAULT_USERGROUPS.map((g) => (g.handle === 'ops-leads' ? { ...g, users: [...g.users, 'U0DAVE'] } : g)),
      },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  const run = (user: string, text: string, channel = 'ops-critical') => h.sandbox.command({ user, channel, command: '/ops', text });
  const said = (r: PersonActionResponse) => JSON.stringify(r.body);
  const getJob = async (id: string) => (await h.bot.queue.getJob(id)) as Job<RunbookActionJob> | undefined;
  const allJobs = async () => (await h.bot.queue.getJobs(['waiting', 'prioritized', 'delayed', 'active'])) as Array<Job<RunbookActionJob>>;
  const requestIdIn = (text: string) => /request `([A-Za-z0-9_.-]+)`/.exec(text)?.[1];
  const confirmValue = (blocks: unknown) =>
    ((blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'action_confirm')?.value;
  const lockKey = (target: string) => `${h.prefix}:action-lock:${target}`;

  /** The ephemeral message `user` sees that contains `needle`. */
  const ephemeralWith = (user: string, needle: string) =>
    eventually(async () => (await h.sandbox.ephemeral({ user })).find((m) => JSON.stringify(m).includes(needle)));

  /** Clicks the Confirm button of the prompt for `requestId` (or, `value`, tampers with what it carries). */
  async function clickConfirm(user: string, channel: string, promptRequestId: string, value?: string, actionId = 'action_confirm') {
    const prompt = await ephemeralWith(user, `"value":"${promptRequestId}"`);
    return h.sandbox.click({ user, channel, ts: prompt.ts, action_id: actionId, ...(value !== undefined ? { value } : {}) });
  }

  /** What the worker does when a job is done: compare-and-delete of the lock the bot took. */
  async function releaseLock(job: Job<RunbookActionJob>) {
    if (job.data.lock && (await h.redis.get(job.data.lock.key)) === job.data.lock.token) await h.redis.del(job.data.lock.key);
  }

  /** The job for `requestId`, checked against the worker's contract. */
  async function jobFor(requestId: string): Promise<RunbookActionJob> {
    const job = await eventually(() => getJob(requestId));
    expect(job.id).toBe(requestId);
    const parsed = RunbookActionJobSchema.parse(job.data);
    expect(job.name).toBe(parsed.action);
    const target = ACTION_POLICIES[parsed.action].target(parsed.params);
    if (target) {
      expect(parsed.lock).toEqual({ key: lockKey(target), token: requestId });
      expect(await h.redis.get(lockKey(target))).toBe(requestId);
    } else expect(parsed.lock).toBeUndefined();
    return parsed;
  }

  async function auditOf(requestId: string) {
    return h.bot.audit.read({ requestId });
  }

  it('every catalog action from /ops run, outside an incident: parsed, confirmed when dangerous, enqueued with request id, reply channel and lock', async () => {
    const EVERY: Array<[ActionName, string, Record<string, unknown>]> = [
      ['health_check', 'run health_check basic', { mode: 'basic' }],
      ['query_prometheus', 'run query_prometheus sum(rate(mcp_requests_total[5m])) &gt; 0', { query: 'sum(rate(mcp_requests_total[5m])) > 0' }],
      ['restart', 'run restart mcp-server', { service: 'mcp-server' }],
      ['deploy', 'run deploy mcp-server v1.4.2', { service: 'mcp-server', version: 'v1.4.2' }],
      ['rollback', 'run rollback mcp-server', { service: 'mcp-server' }],
      ['scale', 'run scale mcp-server 3', { service: 'mcp-server', replicas: 3 }],
      ['block_ip', 'run block_ip 203.0.113.7 1h credential stuffing', { address: '203.0.113.7', ttlSeconds: 3600, reason: 'credential stuffing' }],
      ['unblock_ip', 'run unblock_ip 203.0.113.0/24', { address: '203.0.113.0/24' }],
      ['backup', 'run backup state', { kind: 'state' }],
      ['verify_backup', 'run verify_backup state-20261202.tar.gz', { id: 'state-20261202.tar.gz' }],
      ['restore', 'run restore state-20261202.tar.gz', { id: 'state-20261202.tar.gz' }],
      ['maintenance', 'run maintenance on 30m db failover', { mode: 'on', durationSeconds: 1800, reason: 'db failover' }],
      ['reset_circuit_breaker', 'run reset_circuit_breaker account-service', { service: 'account-service' }],
      ['collect_evidence', 'run collect_evidence', {}],
      ['security_report', 'run security_report', {}],
    ];
    for (const [action, text, params] of EVERY) {
      const res = await run('alice', text);
      const body = res.body as { text: string; blocks?: unknown };
      let requestId: string;
      if (ACTION_POLICIES[action].dangerous) {
        requestId = confirmValue(body.blocks)!;
        expect(body.text).toContain('confirm to run it');
        expect(JSON.stringify(body.blocks)).toContain('"confirm":{"title"');
        // Unconfirmed: nothing is queued.
        expect(await getJob(requestId)).toBeUndefined();
        await clickConfirm('alice', 'ops-critical', requestId);
      } else {
        requestId = requestIdIn(body.text)!;
        expect(body.text).toContain('is queued');
      }
      const job = await jobFor(requestId);
      expect(job).toMatchObject({ action, params, requestedBy: 'U0ALICE', origin: 'command', reply: { channel: CRIT } });
      expect(job.incidentId).toBeUndefined();
      expect(job.reply.threadTs).toBeUndefined();
      const kinds = (await auditOf(requestId)).map((e) => e.kind);
      expect(kinds).toEqual(ACTION_POLICIES[action].dangerous ? ['request', 'confirmation'] : ['request']);
      await releaseLock((await getJob(requestId))!);
    }
    // A note for each went to the channel (no incident): one reply target per request.
    await eventually(async () => (await h.sandbox.history('ops-critical')).filter((m) => m.text.includes('asked for the')).length >= EVERY.length, 60_000);
  });

  it('a bad argument for every action gets that action\'s usage line; nothing runs; a refusal is audited', async () => {
    const BAD: Array<[string, string]> = [
      ['run health_check extreme', '/ops run health_check [basic|full]'],
      ['run query_prometheus', '/ops run query_prometheus <promql>'],
      ['run restart postgres', '/ops run restart <service>'],
      ['run restart mcp-server; rm -rf /', '/ops run restart <service>'],
      ['run deploy mcp-server latest', '/ops run deploy <service> <version'],
      ['run deploy mcp-server ../../v1.2.3', '/ops run deploy <service> <version'],
      ['run rollback', '/ops run rollback <service>'],
      ['run scale mcp-server 11', '/ops run scale <service> <replicas>'],
      ['run scale mcp-server -1', '/ops run scale <service> <replicas>'],
      ['run block_ip 10.0.0.300 1h abuse', '/ops run block_ip <address|cidr>'],
      ['run block_ip 0x7f.1 1h abuse', '/ops run block_ip <address|cidr>'],
      ['run block_ip 10.0.0.1 forever abuse', '/ops run block_ip <address|cidr>'],
      ['run block_ip 10.0.0.1 1h', '/ops run block_ip <address|cidr>'],
      ['run unblock_ip example.com', '/ops run unblock_ip <address|cidr>'],
      ['run backup everything', '/ops run backup config|logs|metrics|state'],
      ['run verify_backup ../etc/passwd', '/ops run verify_backup <backup id>'],
      ['run restore', '/ops run restore <backup id>'],
      ['run maintenance on', '/ops run maintenance on <duration'],
      ['run maintenance sideways', '/ops run maintenance on <duration'],
      ['run reset_circuit_breaker mcp-server', '/ops run reset_circuit_breaker account-service|transaction-service'],
      ['run collect_evidence now', '/ops run collect_evidence'],
      ['run security_report please', '/ops run security_report'],
      ['run nuke everything', '/ops run <action> [args] [INC-42], action one of'],
    ];
    const before = (await allJobs()).length;
    const refusalsBefore = (await h.bot.audit.read()).filter((e) => e.kind === 'refusal' && e.actor === 'U0BOB').length;
    for (const [text, usage] of BAD) {
      const answer = said(await run('bob', text, 'ops-alerts'));
      expect(answer).toContain('E_VALIDATION_FAILED');
      expect(answer).toContain('Nothing ran');
      expect(answer).toContain(`Usage: \`${usage}`);
    }
    expect((await allJobs()).length).toBe(before);
    const refusals = (await h.bot.audit.read()).filter((e) => e.kind === 'refusal' && e.actor === 'U0BOB');
    expect(refusals.length - refusalsBefore).toBe(BAD.length);
    expect(refusals.at(-1)?.message).toContain('unknown action');
  });

  it('identity is the Slack user id and user groups: a spoofed user_name, a viewer, a missing role, a wrong channel are refused and audited', async () => {
    const before = (await allJobs()).length;
    // U0MALLORY's user_name is "bob" in the signed request: no rights at all.
    const spoof = said(await run('U0MALLORY', 'run health_check'));
    expect(spoof).toContain('You may not run `/ops run`');
    expect(spoof).toContain('you have no role in the ops config');
    const viewer = said(await run('carol', 'run health_check'));
    expect(viewer).toContain('`/ops run` needs the role admin or responder (you are viewer)');
    const responder = said(await run('bob', 'run restore state-1.tar.gz'));
    expect(responder).toContain('restore needs the role admin (you are responder)');
    const wrongChannel = said(await run('bob', 'run restart mcp-server', 'general'));
    expect(wrongChannel).toContain('restart is not allowed in this channel for responder');
    expect((await allJobs()).length).toBe(before);

    const refusals = (await h.bot.audit.read()).filter((e) => e.kind === 'refusal');
    expect(refusals.find((e) => e.actor === 'U0MALLORY')?.detail).toMatchObject({ command: 'run' });
    expect(refusals.find((e) => e.actor === 'U0CAROL')?.message).toContain('needs the role admin or responder');
    expect([...refusals].reverse().find((e) => e.actor === 'U0BOB' && e.action === 'restore')?.message).toContain('restore needs the role admin');
    expect([...refusals].reverse().find((e) => e.actor === 'U0BOB' && e.action === 'restart')?.message).toContain('not allowed in this channel');

    // Help lists only what the caller may run, actions included.
    expect(said(await run('carol', 'help'))).not.toContain('/ops run');
    const bobHelp = said(await run('bob', 'help'));
    expect(bobHelp).toContain('/ops run restart <service>');
    expect(bobHelp).not.toContain('/ops run restore');
    expect(said(await run('alice', 'help'))).toContain('/ops run restore <backup id>');
    expect(said(await run('U0MALLORY', 'help'))).toContain('You have no /ops commands');

    // dave has no RBAC entry; @ops-leads (usergroups.users.list) makes him a responder.
    const dave = (await run('dave', 'run health_check basic', 'ops-alerts')).body as { text: string };
    const job = await jobFor(requestIdIn(dave.text)!);
    expect(job).toMatchObject({ action: 'health_check', requestedBy: 'U0DAVE', reply: { channel: ALRT } });
  });

  it('runbook buttons in the root message run with params from the runbook and the config; a usage button runs nothing; a tampered value is refused', async () => {
    const id = await h.alert(firingFor('ServiceDown', { severity: 'high' }));
    const root = await h.root('ops-critical', id);
    const blocks = JSON.stringify(root.blocks);
    for (const actionId of ['runbook_health_check', 'runbook_collect_evidence', 'runbook_restart', 'runbook_rollback']) expect(blocks).toContain(`"action_id":"${actionId}"`);
    expect(blocks).toContain('mcp-server');

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check' });
    const queued = await ephemeralWith('bob', `health check (full) for ${id} is queued`);
    const health = await jobFor(requestIdIn(queued.text)!);
    expect(health).toMatchObject({ action: 'health_check', params: { mode: 'full' }, incidentId: id, requestedBy: 'U0BOB', origin: 'button', reply: { channel: CRIT, threadTs: root.ts } });

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_collect_evidence' });
    const evidence = await jobFor(requestIdIn((await ephemeralWith('bob', `evidence collection for ${id} is queued`)).text)!);
    expect(evidence).toMatchObject({ action: 'collect_evidence', params: {}, incidentId: id });

    // Restart is dangerous: a prompt with Slack's confirm dialog, then the job.
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_restart' });
    const prompt = await ephemeralWith('bob', `restart of mcp-server* for ${id}`);
    const restartId = confirmValue(prompt.blocks)!;
    expect(await getJob(restartId)).toBeUndefined();
    await clickConfirm('bob', 'ops-critical', restartId);
    const restart = await jobFor(restartId);
    expect(restart).toMatchObject({ action: 'restart', params: { service: 'mcp-server' }, incidentId: id, origin: 'button', reply: { channel: CRIT, threadTs: root.ts } });
    const note = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes(restartId)));
    expect(note.text).toContain('<@U0BOB> asked for the restart of mcp-server');

    // One action per target: the lock refuses a second restart with who asked and when.
    await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_restart' });
    const busy = await ephemeralWith('alice', 'is already running');
    expect(busy.text).toMatch(/restart of mcp-server is already running \(asked by <@U0BOB> \d+ s ago\)/);
    expect((await h.bot.audit.read()).filter((e) => e.kind === 'refusal' && e.actor === 'U0ALICE' && e.target === 'service:mcp-server').length).toBeGreaterThan(0);
    await releaseLock((await getJob(restartId))!);

    // The same button with another incident's id in its value: refused, nothing runs.
    const other = await h.alert(firingFor('OtherService', { severity: 'high' }));
    await h.root('ops-critical', other);
    const before = (await allJobs()).length;
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check', value: other });
    await ephemeralWith('bob', `That button does not belong to ${other}'s message`);
    expect((await allJobs()).length).toBe(before);
  });

  it('diagnostics run when an incident opens, in the runbook\'s order, once, as system:diagnostics; runbook buttons that need a person\'s words show a usage line', async () => {
    const payload = alertmanagerFixture('high-error-rate.firing');
    const id = await h.alert(payload);
    const jobs = await eventually(async () => {
      const found = await Promise.all([0, 1, 2, 3, 4].map((n) => getJob(`diag-${id}-${n}`)));
      return found.every(Boolean) ? (found as Array<Job<RunbookActionJob>>) : undefined;
    });
    const parsed = jobs.map((j) => RunbookActionJobSchema.parse(j.data));
    expect(parsed.map((j) => j.action)).toEqual(['query_prometheus', 'query_prometheus', 'query_prometheus', 'query_prometheus', 'health_check']);
    expect(parsed[2]!.params).toEqual({ query: 'circuit_breaker_state' });
    expect(parsed[4]!.params).toEqual({ mode: 'full' });
    for (const j of parsed) expect(j).toMatchObject({ origin: 'diagnostics', requestedBy: 'system:diagnostics', incidentId: id, reply: { channel: CRIT } });
    // Enqueued in order: each job was added no earlier than the one before it.
    for (let i = 1; i < jobs.length; i++) expect(jobs[i]!.timestamp).toBeGreaterThanOrEqual(jobs[i - 1]!.timestamp);
    expect((await h.bot.audit.read({ incidentId: id })).filter((e) => e.actor === 'system:diagnostics' && e.kind === 'request')).toHaveLength(5);

    // A redelivered webhook neither opens a new incident nor runs them again.
    expect(await h.alert(payload)).toBe(id);
    expect(await getJob(`diag-${id}-5`)).toBeUndefined();
    expect((await h.bot.audit.read({ incidentId: id })).filter((e) => e.actor === 'system:diagnostics')).toHaveLength(5);

    // HighErrorRate offers maintenance on (needs a duration: a usage line) and the breaker resets (one per backend, guarded).
    const root = await h.root('ops-critical', id);
    const before = (await allJobs()).length;
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_maintenance_on' });
    const usage = await ephemeralWith('bob', `/ops run maintenance on <duration, e.g. 30m> [reason…] | off ${id}`);
    expect(usage.text).toContain('needs details only you can give');
    expect((await allJobs()).length).toBe(before);
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_reset_circuit_breaker_1' });
    const prompt = await ephemeralWith('bob', 'reset of the transaction-service circuit breaker');
    const resetId = confirmValue(prompt.blocks)!;
    await clickConfirm('bob', 'ops-critical', resetId);
    expect(await jobFor(resetId)).toMatchObject({ action: 'reset_circuit_breaker', params: { service: 'transaction-service' }, incidentId: id, reply: { threadTs: root.ts } });
    await releaseLock((await getJob(resetId))!);
    // Maintenance off is fixed by the runbook; maintenance is dangerous: confirm, then the job.
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_maintenance_off' });
    const offId = confirmValue((await ephemeralWith('bob', `maintenance off* for ${id}`)).blocks)!;
    await clickConfirm('bob', 'ops-critical', offId);
    expect(await jobFor(offId)).toMatchObject({ action: 'maintenance', params: { mode: 'off' }, incidentId: id, requestedBy: 'U0BOB', origin: 'button' });
    await releaseLock((await getJob(offId))!);

    // Blocking or unblocking an address needs the address: the buttons answer with the command to type.
    const security = await h.alert(firingFor('SuspiciousRequestPatterns', { severity: 'warning' }));
    const secRoot = await h.root('ops-alerts', security);
    await h.sandbox.click({ user: 'bob', channel: 'ops-alerts', ts: secRoot.ts, action_id: 'runbook_block_ip' });
    await ephemeralWith('bob', `/ops run block_ip <address|cidr> <ttl, e.g. 1h> <reason…> ${security}`);
    await h.sandbox.click({ user: 'bob', channel: 'ops-alerts', ts: secRoot.ts, action_id: 'runbook_unblock_ip' });
    await ephemeralWith('bob', `/ops run unblock_ip <address|cidr> ${security}`);
    // The incident's own diagnostics are queued; the two buttons queued nothing.
    const securityJobs = (await allJobs()).filter((j) => j.data.incidentId === security);
    expect(securityJobs.length).toBeGreaterThan(0);
    expect(securityJobs.filter((j) => j.data.origin !== 'diagnostics')).toHaveLength(0);
  });

  it('only the requester confirms; a tampered confirm value is refused; cancel stops it; two identical requests and a double click enqueue once', async () => {
    const bobPrompt = (await run('bob', 'run scale mcp-server 2', 'ops-alerts')).body as { blocks: unknown };
    const bobRequest = confirmValue(bobPrompt.blocks)!;
    const alicePrompt = (await run('alice', 'run scale mcp-server 4', 'ops-alerts')).body as { blocks: unknown };
    const aliceRequest = confirmValue(alicePrompt.blocks)!;
    // alice clicks her own Confirm with bob's request id in it: refused, bob's request stays unconfirmed.
    await clickConfirm('alice', 'ops-alerts', aliceRequest, bobRequest);
    await ephemeralWith('alice', 'Only <@U0BOB>, who asked for it, can confirm this request');
    await clickConfirm('alice', 'ops-alerts', aliceRequest, 'cmd-000000000000000000000000');
    await ephemeralWith('alice', 'That button names no request the bot knows');
    expect(await getJob(bobRequest)).toBeUndefined();
    expect(await getJob(aliceRequest)).toBeUndefined();
    // bob confirming from another channel than he asked in (a forged click) is refused too.
    const forged = (await run('bob', 'run restart mcp-server', 'ops-critical')).body as { blocks: unknown };
    await clickConfirm('bob', 'ops-critical', confirmValue(forged.blocks)!, bobRequest);
    await ephemeralWith('bob', 'That button belongs to a request made elsewhere');
    expect(await getJob(bobRequest)).toBeUndefined();

    await clickConfirm('bob', 'ops-alerts', bobRequest, undefined, 'action_cancel');
    await ephemeralWith('bob', 'Cancelled: the scale of mcp-server to 2 will not run');
    await clickConfirm('alice', 'ops-alerts', aliceRequest, undefined, 'action_cancel');
    await ephemeralWith('alice', 'Cancelled: the scale of mcp-server to 4 will not run');
    expect(await getJob(bobRequest)).toBeUndefined();
    expect((await auditOf(bobRequest)).map((e) => e.kind)).toEqual(['request', 'refusal', 'refusal', 'refusal']);

    // The same command twice at once: one request, one job.
    const [a, b] = await Promise.all([run('bob', 'run backup logs', 'ops-alerts'), run('bob', 'run backup logs', 'ops-alerts')]);
    const texts = [said(a), said(b)];
    expect(texts.filter((t) => t.includes('is queued'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('a moment ago'))).toHaveLength(1);
    expect((await allJobs()).filter((j) => j.data.action === 'backup' && j.data.params.kind === 'logs')).toHaveLength(1);
    await releaseLock((await allJobs()).find((j) => j.data.action === 'backup' && j.data.params.kind === 'logs')!);

    // A double click on Confirm: one job.
    const scale = confirmValue(((await run('bob', 'run scale mcp-server 5', 'ops-alerts')).body as { blocks: unknown }).blocks)!;
    const prompt = await ephemeralWith('bob', `"value":"${scale}"`);
    await Promise.all([0, 1].map(() => h.sandbox.click({ user: 'bob', channel: 'ops-alerts', ts: prompt.ts, action_id: 'action_confirm' })));
    await jobFor(scale);
    expect((await allJobs()).filter((j) => j.data.action === 'scale' && j.data.params.replicas === 5)).toHaveLength(1);
    expect((await auditOf(scale)).filter((e) => e.kind === 'confirmation')).toHaveLength(1);
    await releaseLock((await getJob(scale))!);
  });

  it('a Slack retry of the same delivery (same trigger_id, X-Slack-Retry-Num) enqueues once; a retried dangerous request shows the same prompt', async () => {
    // Slack re-sends the very same signed body when our answer is late; the request id is derived from its trigger_id.
    const deliver = async (text: string, triggerId: string, retry?: number) => {
      const body = new URLSearchParams({
        team_id: 'T0SANDBOX', channel_id: ALRT, channel_name: 'ops-alerts', user_id: 'U0BOB', user_name: 'bob', command: '/ops', text,
        response_url: `${h.slack.url()}/_sandbox/respond/none`, trigger_id: triggerId, api_app_id: 'A0OPSBOT',
      }).toString();
      const res = await fetch(`${h.botUrl}/slack/events`, {
        method: 'POST',
        headers: { ...signedSlackHeaders(SIGNING_SECRET, body), ...(retry ? { 'X-Slack-Retry-Num': String(retry), 'X-Slack-Retry-Reason': 'http_timeout' } : {}) },
        body,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { text: string; blocks?: unknown };
    };
    const first = await deliver('run security_report', '111.222.retry-one');
    const again = await deliver('run security_report', '111.222.retry-one', 1);
    const requestId = requestIdIn(first.text)!;
    expect(again.text).toContain(`That request is queued (request \`${requestId}\`)`);
    await jobFor(requestId);
    expect((await allJobs()).filter((j) => j.data.action === 'security_report' && j.data.requestedBy === 'U0BOB')).toHaveLength(1);
    expect((await auditOf(requestId)).map((e) => e.kind)).toEqual(['request']);

    const prompt = await deliver('run restart mcp-server', '111.222.retry-two');
    const repeat = await deliver('run restart mcp-server', '111.222.retry-two', 1);
    expect(confirmValue(repeat.blocks)).toBe(confirmValue(prompt.blocks));
    expect((await auditOf(confirmValue(prompt.blocks)!)).map((e) => e.kind)).toEqual(['request']);
  });

  it('during an open P1, rollback and maintenance need a second responder or admin; not the requester, not a viewer, not after 10 minutes', async () => {
    const p1 = firingFor('ServiceDown', { severity: 'critical' });
    p1.groupKey = '{}:{alertname="ServiceDown",env="p1"}';
    const id = await h.alert(p1);
    expect((await h.bot.store.get(id))?.priority).toBe('P1');
    const root = await h.root('ops-critical', id);
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_rollback' });
    const rollbackId = confirmValue((await ephemeralWith('bob', 'rollback of mcp-server')).blocks)!;
    await clickConfirm('bob', 'ops-critical', rollbackId);
    await ephemeralWith('bob', 'also needs a second person\'s approval');
    const ask = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('must approve') && m.text.includes(rollbackId)));
    expect(JSON.stringify(ask.blocks)).toContain('"action_id":"action_approve"');
    // Confirmed but not approved: nothing runs.
    expect(await getJob(rollbackId)).toBeUndefined();

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: ask.ts, action_id: 'action_approve' });
    await ephemeralWith('bob', 'the approval must come from a second person');
    await h.sandbox.click({ user: 'carol', channel: 'ops-critical', ts: ask.ts, action_id: 'action_approve' });
    await ephemeralWith('carol', 'rollback needs the role admin or responder (you are viewer)');
    expect(await getJob(rollbackId)).toBeUndefined();
    await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: ask.ts, action_id: 'action_approve' });
    const rollback = await jobFor(rollbackId);
    expect(rollback).toMatchObject({ action: 'rollback', params: { service: 'mcp-server' }, requestedBy: 'U0BOB', approvedBy: 'U0ALICE', incidentId: id, reply: { threadTs: root.ts } });
    expect((await auditOf(rollbackId)).map((e) => [e.kind, e.actor])).toEqual([
      ['request', 'U0BOB'],
      ['confirmation', 'U0BOB'],
      ['approval_requested', 'U0BOB'],
      ['refusal', 'U0BOB'],
      ['refusal', 'U0CAROL'],
      ['approval', 'U0ALICE'],
    ]);
    await releaseLock((await getJob(rollbackId))!);

    // An approval after the 10 minutes is refused and says so.
    const maintenance = confirmValue(((await run('bob', `run maintenance on 30m drill ${id}`)).body as { blocks: unknown }).blocks)!;
    await clickConfirm('bob', 'ops-critical', maintenance);
    const late = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes(maintenance) && m.text.includes('must approve')));
    clockOffsetMs = 11 * 60_000;
    try {
      await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: late.ts, action_id: 'action_approve' });
      await ephemeralWith('alice', 'The approval window of this request ended');
    } finally {
      clockOffsetMs = 0;
    }
    expect(await getJob(maintenance)).toBeUndefined();
    expect((await auditOf(maintenance)).at(-1)).toMatchObject({ kind: 'refusal', actor: 'U0ALICE', outcome: 'refused' });
    await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: late.ts, action_id: 'action_approve' });
    await ephemeralWith('alice', 'That request is already expired');
    expect(await getJob(maintenance)).toBeUndefined();

    // /ops audit INC-n: the incident's audit as a JSON-lines file in its thread, through the outbox.
    expect(said(await run('carol', `audit ${id}`))).toContain('You may not run `/ops audit`');
    expect(said(await run('bob', 'audit --since yesterday'))).toContain('E_VALIDATION_FAILED: --since \\"yesterday\\": expected a duration');
    const exported = said(await run('bob', `audit --since 1h ${id}`));
    expect(exported).toMatch(/\d+ audit entries \(INC-\d+, since 1h\) are on their way as a file in INC-\d+'s thread/);
    const fileMessage = await eventually(
      async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => Array.isArray(m.files) && m.files.length > 0),
      20_000,
    );
    expect(fileMessage.text).toContain('exported by <@U0BOB>');
    const file = (fileMessage.files as Array<{ name: string; url_private: string }>)[0]!;
    expect(file.name).toMatch(/^audit-INC-\d+-.*\.jsonl$/);
    const lines = (await (await fetch(file.url_private)).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { incidentId: string; requestId?: string; kind: string; hash: string });
    expect(lines.every((e) => e.incidentId === id && /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    expect(lines.filter((e) => e.requestId === rollbackId).map((e) => e.kind)).toEqual(['request', 'confirmation', 'approval_requested', 'refusal', 'refusal', 'approval']);
    expect((await h.bot.audit.read({ incidentId: id })).at(-1)).toMatchObject({ kind: 'export', actor: 'U0BOB', outcome: 'ok' });

    // Without an incident: the window's entries as a file in the channel the command came from.
    expect(said(await run('alice', 'audit --since 1h', 'ops-reports'))).toContain("are on their way as a file in this channel");
    const channelFile = await eventually(async () => (await h.sandbox.history('ops-reports')).find((m) => Array.isArray(m.files) && m.files.length > 0), 20_000);
    const all = (await (await fetch((channelFile.files as Array<{ url_private: string }>)[0]!.url_private)).text()).trimEnd().split('\n');
    expect(all.length).toBeGreaterThan(lines.length);
    expect(all.map((l) => (JSON.parse(l) as { actor: string }).actor)).toEqual(expect.arrayContaining(['U0ALICE', 'U0BOB', 'U0CAROL', 'U0MALLORY', 'system:diagnostics']));

    await run('alice', `resolve ${id}`);
    const audit = await h.bot.audit.verify();
    expect(audit).toMatchObject({ ok: true });
    expect(audit.entries).toBeGreaterThan(10);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TEST_REDIS_URL } from '../helpers/redis';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, type EscalationHarness } from './escalation-harness';

/**
 * A bot killed (kill -9, a real process) between claiming an escalation step
 * and finishing it: the step's claim outlives it. BullMQ notices the dead run's
 * job stalled and runs it again in the surviving bot, which takes the dead
 * run's claim over: the step fires within the stall interval, once, instead of
 * after the 120 s lease. At ESCALATION_TIME_SCALE 1, so the lease is the full 120 s.
 */
jest.setTimeout(90_000);

const CONFIG = `
routing:
  rules: []
escalation:
  policies:
    drill:
      steps:
        - { after: 0m, notify: oncall_primary }
        - { after: 60m, notify: channel }
  by_priority: { P1: drill, P2: drill, P3: drill, P4: drill }
`;

describe('escalation claim of a bot killed mid-step (real process, real Redis, BullMQ, sandbox Slack)', () => {
  let h: EscalationHarness;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    h = await createEscalationHarness({ timeScale: 1, configYaml: CONFIG });
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await h.close();
  });

  it('kill -9 inside the claim window: the survivor fires the step once, long before the lease ends', async () => {
    const id = await h.openIncident('P1');
    await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'escalation-crash-child.ts')], {
      env: { ...process.env, REDIS_URL: TEST_REDIS_URL, PREFIX: h.prefix, INCIDENT: id, CONFIG_YAML: CONFIG },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(async () => out.includes('CLAIMED'), 30_000);
    const claimedAt = Date.now();
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const markers = await h.redis.keys(`${h.prefix}:esc:${id}:fired:*:r0-s0`);
    expect(markers).toHaveLength(1);
    const held = await h.redis.get(markers[0]!);
    expect(held).not.toBe('done');
    expect(await h.redis.pttl(markers[0]!)).toBeGreaterThan(60_000);

    const survivor = h.engine();
    await survivor.start();
    const fired = await eventually(async () => (await h.firedSteps(id)).find((e) => e.step === 'r0-s0'), 60_000, 200);
    // Taken over while the dead run's 120 s lease was still running.
    expect(Date.parse(fired.firedAt!) - claimedAt).toBeLessThan(120_000);
    await eventually(async () => (await h.escalations(id)).length >= 1 || undefined, 15_000);
    await h.settle();
    expect((await h.escalations(id)).filter((m) => m.includes('Escalation step 1 of 2'))).toHaveLength(1);
    expect((await h.firedSteps(id)).map((e) => e.step)).toEqual(['r0-s0']);
    await survivor.stop();
  });
});

/**
 * A bot process for escalation-crash.test.ts: runs the real escalation engine
 * on the test's Redis prefix, and when a step's claim is taken and its reply
 * is about to be queued, prints `CLAIMED` and hangs there, so the test can
 * kill -9 it inside the claim window. Env: REDIS_URL, PREFIX, INCIDENT, CONFIG_YAML.
 */
import { WebClient } from '@slack/web-api';
import { Registry } from 'prom-client';
import { createEscalationEngine } from '../../bot/escalation/engine';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { silentLogger } from '../../lib/logger';
import { parseOpsConfig } from '../../lib/ops-config';
import { createRedis } from '../../lib/redis';

async function main(): Promise<void> {
  const env = process.env;
  const connection = createRedis(env.REDIS_URL!);
  const prefix = env.PREFIX!;
  const store = createIncidentStore({ redis: connection, prefix });
  const engine = createEscalationEngine({
    connection,
    prefix,
    config: parseOpsConfig(env.CONFIG_YAML!, 'test'),
    timeScale: 1,
    store,
    notifier: {
      postReply: () => {
        process.stdout.write('CLAIMED\n');
        return new Promise<string>(() => undefined);
      },
      sync: async () => undefined,
    },
    client: new WebClient('xoxb-unused', { slackApiUrl: 'http://127.0.0.1:9/api/' }),
    resolveUser: async () => undefined,
    resolveUsergroup: async () => undefined,
    logger: silentLogger(),
    registry: new Registry(),
  });
  await engine.start();
  await engine.opened(env.INCIDENT!);
}

void main();

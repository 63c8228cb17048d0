import fs from 'node:fs';
import path from 'node:path';
import { buildLocalEnv, envFor } from '../../scripts/local-env';
import { BotEnvSchema } from '../../bot/config';
import { ServerEnvSchema } from '../../server/config';
import { WorkersEnvSchema } from '../../workers/config';
import { SandboxEnvSchema } from '../../sandbox/config';

describe('npm start environment', () => {
  it('generates every unset secret, and the result satisfies every process', () => {
    const stack = buildLocalEnv({});
    expect(stack.generated.sort()).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN', 'JWT_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'STACK_CONTROL_TOKEN', 'WORKERS_JWT_PRIVATE_KEY']);
    expect(stack.sandboxSlack).toBe(true);
    expect(stack.env.SLACK_API_URL).toBe('http://127.0.0.1:3100/api/');
    for (const schema of [BotEnvSchema, ServerEnvSchema, WorkersEnvSchema, SandboxEnvSchema]) {
      expect(schema.safeParse(stack.env).success).toBe(true);
    }
    // Least privilege: the workers get their signing key and not the server's secret; nobody else gets the key.
    expect(WorkersEnvSchema.safeParse(envFor('workers', stack.env)).success).toBe(true);
    expect(envFor('workers', stack.env).JWT_SECRET).toBeUndefined();
    for (const name of ['server', 'bot', 'sandbox']) expect(envFor(name, stack.env).WORKERS_JWT_PRIVATE_KEY).toBeUndefined();
    // The launcher's control token (drills stop/start the server with it) reaches no child.
    for (const name of ['server', 'bot', 'workers', 'sandbox']) expect(envFor(name, stack.env).STACK_CONTROL_TOKEN).toBeUndefined();
    expect(ServerEnvSchema.parse(envFor('server', stack.env)).WORKERS_JWT_PUBLIC_KEY).toBeTruthy();
  });

  it('never overrides what the user set, and a real Slack token alone means real Slack', () => {
    const stack = buildLocalEnv({ SLACK_BOT_TOKEN: 'xoxb-real', SLACK_SIGNING_SECRET: 's'.repeat(20), JWT_SECRET: 'j'.repeat(32) });
    expect(stack.env.SLACK_BOT_TOKEN).toBe('xoxb-real');
    expect(stack.env.JWT_SECRET).toBe('j'.repeat(32));
    expect(stack.sandboxSlack).toBe(false);
    expect(stack.env.SLACK_API_URL).toBeUndefined();
    expect(stack.generated).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN', 'STACK_CONTROL_TOKEN', 'WORKERS_JWT_PRIVATE_KEY']);
  });

  it('generates fresh secrets per run', () => {
    expect(buildLocalEnv({}).env.JWT_SECRET).not.toBe(buildLocalEnv({}).env.JWT_SECRET);
  });

  it('derives every URL from the ports', () => {
    const { env } = buildLocalEnv({ SERVER_PORT: '13000', BOT_PORT: '13001', SANDBOX_SLACK_PORT: '13100' });
    expect(env.MCP_SERVER_URL).toBe('http://127.0.0.1:13000/mcp');
    expect(env.SLACK_REQUEST_URL).toBe('http://127.0.0.1:13001/slack/events');
    expect(env.SLACK_API_URL).toBe('http://127.0.0.1:13100/api/');
  });

  it('backs up the configuration a fresh clone has, into the ignored .tmp/', () => {
    const root = path.resolve(__dirname, '../..');
    const { env } = buildLocalEnv({});
    const paths = env.BACKUP_PATHS!.split(',');
    expect(paths).toEqual(['config', 'runbooks', 'monitoring'].map((d) => path.join(root, d)));
    for (const p of paths) expect(fs.statSync(p).isDirectory()).toBe(true);
    expect(env.BACKUP_DIR).toBe(path.join(root, '.tmp', 'backups'));
    expect(ServerEnvSchema.parse(envFor('server', env))).toMatchObject({ BACKUP_PATHS: env.BACKUP_PATHS, BACKUP_DIR: env.BACKUP_DIR });
    expect(buildLocalEnv({ BACKUP_DIR: '/srv/backups' }).env.BACKUP_DIR).toBe('/srv/backups');
  });

  it('the control endpoint takes any free port unless STACK_CONTROL_PORT says', () => {
    expect(buildLocalEnv({}).ports.control).toBe(0);
    expect(buildLocalEnv({ STACK_CONTROL_PORT: '13003' }).ports.control).toBe(13003);
  });
});

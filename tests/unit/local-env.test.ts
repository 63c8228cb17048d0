import { buildLocalEnv, envFor } from '../../scripts/local-env';
import { BotEnvSchema } from '../../bot/config';
import { ServerEnvSchema } from '../../server/config';
import { WorkersEnvSchema } from '../../workers/config';
import { SandboxEnvSchema } from '../../sandbox/config';

describe('npm start environment', () => {
  it('generates every unset secret, and the result satisfies every process', () => {
    const stack = buildLocalEnv({});
    expect(stack.generated.sort()).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN', 'JWT_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'WORKERS_JWT_PRIVATE_KEY']);
    expect(stack.sandboxSlack).toBe(true);
    expect(stack.env.SLACK_API_URL).toBe('http://127.0.0.1:3100/api/');
    for (const schema of [BotEnvSchema, ServerEnvSchema, WorkersEnvSchema, SandboxEnvSchema]) {
      expect(schema.safeParse(stack.env).success).toBe(true);
    }
    // Least privilege: the workers get their signing key and not the server's secret; nobody else gets the key.
    expect(WorkersEnvSchema.safeParse(envFor('workers', stack.env)).success).toBe(true);
    expect(envFor('workers', stack.env).JWT_SECRET).toBeUndefined();
    for (const name of ['server', 'bot', 'sandbox']) expect(envFor(name, stack.env).WORKERS_JWT_PRIVATE_KEY).toBeUndefined();
    expect(ServerEnvSchema.parse(envFor('server', stack.env)).WORKERS_JWT_PUBLIC_KEY).toBeTruthy();
  });

  it('never overrides what the user set, and a real Slack token alone means real Slack', () => {
    const stack = buildLocalEnv({ SLACK_BOT_TOKEN: 'xoxb-real', SLACK_SIGNING_SECRET: 's'.repeat(20), JWT_SECRET: 'j'.repeat(32) });
    expect(stack.env.SLACK_BOT_TOKEN).toBe('xoxb-real');
    expect(stack.env.JWT_SECRET).toBe('j'.repeat(32));
    expect(stack.sandboxSlack).toBe(false);
    expect(stack.env.SLACK_API_URL).toBeUndefined();
    expect(stack.generated).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN', 'WORKERS_JWT_PRIVATE_KEY']);
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
});

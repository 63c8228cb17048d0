import { buildLocalEnv } from '../../scripts/local-env';
import { BotEnvSchema } from '../../bot/config';
import { ServerEnvSchema } from '../../server/config';
import { WorkersEnvSchema } from '../../workers/config';
import { SandboxEnvSchema } from '../../sandbox/config';

describe('npm start environment', () => {
  it('generates every unset secret, and the result satisfies every process', () => {
    const stack = buildLocalEnv({});
    expect(stack.generated.sort()).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN', 'JWT_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
    expect(stack.sandboxSlack).toBe(true);
    expect(stack.env.SLACK_API_URL).toBe('http://127.0.0.1:3100/api/');
    for (const schema of [BotEnvSchema, ServerEnvSchema, WorkersEnvSchema, SandboxEnvSchema]) {
      expect(schema.safeParse(stack.env).success).toBe(true);
    }
  });

  it('never overrides what the user set, and a real Slack token alone means real Slack', () => {
    const stack = buildLocalEnv({ SLACK_BOT_TOKEN: 'xoxb-real', SLACK_SIGNING_SECRET: 's'.repeat(20), JWT_SECRET: 'j'.repeat(32) });
    expect(stack.env.SLACK_BOT_TOKEN).toBe('xoxb-real');
    expect(stack.env.JWT_SECRET).toBe('j'.repeat(32));
    expect(stack.sandboxSlack).toBe(false);
    expect(stack.env.SLACK_API_URL).toBeUndefined();
    expect(stack.generated).toEqual(['ALERTMANAGER_WEBHOOK_TOKEN', 'BOT_API_TOKEN']);
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

import type { App } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { allowedCommands, mayRunCommand } from '../../lib/ops-config-rbac';
import type { OpsConfig } from '../../lib/ops-config';
import { ephemeral, type CommandContext, type CommandReply, type OpsVerb } from './types';

export interface OpsCommandRouterOptions {
  verbs: OpsVerb[];
  config: OpsConfig;
  redis: Redis;
  prefix: string;
  logger: Logger;
  now?: () => Date;
}

/**
 * `/ops <verb> ...`: finds the verb (longest match first, so "oncall override"
 * beats "oncall"), checks RBAC, runs it and answers within Slack's 3 s.
 */
export function createOpsCommandRouter(options: OpsCommandRouterOptions) {
  const { verbs, config, logger } = options;
  const byLength = [...verbs].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);

  function help(who: { id: string; name: string }): CommandReply {
    const allowed = new Set(allowedCommands(config, who, verbs.map((v) => v.name).concat('help')));
    const lines = verbs.filter((v) => allowed.has(v.name)).map((v) => `• \`${v.usage}\`: ${v.summary}`);
    if (!lines.length) return ephemeral('You have no /ops commands. Ask an admin to add you to the ops config (rbac.users).');
    return ephemeral(`*What you can run*\n• \`/ops help\`: this list\n${lines.join('\n')}`);
  }

  async function dispatch(body: { user_id: string; user_name: string; channel_id: string; text: string }): Promise<CommandReply> {
    const who = { id: body.user_id, name: body.user_name };
    const words = body.text.trim().split(/\s+/).filter(Boolean);
    if (!words.length || words[0]!.toLowerCase() === 'help') return help(who);
    const lowered = words.map((w) => w.toLowerCase());
    const verb = byLength.find((v) => v.name.split(' ').every((part, i) => lowered[i] === part));
    if (!verb) return ephemeral(`Unknown command \`${words[0]}\`.\n${help(who).text}`);
    if (!mayRunCommand(config, who, verb.name)) {
      logger.warn({ user: body.user_id, verb: verb.name }, 'ops command refused by RBAC');
      return ephemeral(`⛔ You may not run \`/ops ${verb.name}\`. \`/ops help\` lists what you can run.`);
    }
    const ctx: CommandContext = {
      userId: body.user_id,
      userName: body.user_name,
      channelId: body.channel_id,
      text: body.text.trim(),
      args: words.slice(verb.name.split(' ').length),
      config,
      redis: options.redis,
      prefix: options.prefix,
      now: options.now?.() ?? new Date(),
    };
    try {
      return await verb.run(ctx);
    } catch (err) {
      logger.error({ err, verb: verb.name }, 'ops command failed');
      return ephemeral(`⚠️ \`/ops ${verb.name}\` failed: ${(err as Error).message}`);
    }
  }

  /**
   * Slack wants the ack within 3 s. Most verbs answer in milliseconds; one that
   * waits on something slow (a snooze waits on Alertmanager) acks "working on it"
   * and delivers its answer through response_url.
   */
  function register(app: App, ackWithinMs = 2500): void {
    app.command('/ops', async ({ command, ack, respond }) => {
      const work = dispatch(command);
      const late = Symbol('late');
      const first = await Promise.race([work, new Promise<typeof late>((r) => setTimeout(() => r(late), ackWithinMs).unref())]);
      if (first !== late) return void (await ack(first));
      await ack(ephemeral(`⏳ Working on \`/ops ${command.text.trim()}\`…`));
      await respond(await work);
    });
  }

  return { register, dispatch };
}

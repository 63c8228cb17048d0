import type { App } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { allowedCommands, type SlackIdentity } from '../../lib/ops-config-rbac';
import type { OpsConfig } from '../../lib/ops-config';
import { code } from '../../lib/slack-text';
import type { AccessControl } from '../access/access-control';
import { ephemeral, type CommandContext, type CommandReply, type OpsVerb } from './types';

export interface OpsCommandRouterOptions {
  verbs: OpsVerb[];
  config: OpsConfig;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Who the caller is (Slack user id and user groups) and what that allows. */
  access: AccessControl;
  /** Called with every refusal (for the audit). */
  onRefused?: (refusal: { userId: string; channelId: string; command: string; message: string }) => Promise<void>;
  now?: () => Date;
}

/**
 * `/ops <verb> ...`: finds the verb (longest match first, so "oncall override"
 * beats "oncall"), checks RBAC, runs it and answers within Slack's 3 s.
 */
export function createOpsCommandRouter(options: OpsCommandRouterOptions) {
  const { verbs, config, logger } = options;
  const byLength = [...verbs].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);

  function help(who: SlackIdentity): CommandReply {
    const allowed = new Set(allowedCommands(config, who, verbs.map((v) => v.name).concat('help')));
    const lines = verbs
      .filter((v) => allowed.has(v.name))
      .map((v) => [`• \`${v.usage}\`: ${v.summary}`, ...(v.details?.(who) ?? []).map((d) => `    ◦ ${d}`)].join('\n'));
    if (!lines.length) return ephemeral('You have no /ops commands. Ask an admin to add your Slack user id (or a user group of yours) to the ops config (rbac).');
    return ephemeral(`*What you can run*\n• \`/ops help\`: this list\n${lines.join('\n')}`);
  }

  async function dispatch(body: { user_id: string; user_name: string; channel_id: string; text: string; trigger_id?: string }): Promise<CommandReply> {
    // Identity is the user id (and its user groups); user_name is a label and is never trusted.
    const who = await options.access.identify(body.user_id);
    const words = body.text.trim().split(/\s+/).filter(Boolean);
    if (!words.length || words[0]!.toLowerCase() === 'help') return help(who);
    const lowered = words.map((w) => w.toLowerCase());
    const verb = byLength.find((v) => v.name.split(' ').every((part, i) => lowered[i] === part));
    if (!verb) return ephemeral(`Unknown command ${code(words[0]!)}.\n${help(who).text}`);
    const verdict = options.access.command(who, verb.name);
    if (!verdict.ok) {
      logger.warn({ user: body.user_id, verb: verb.name }, 'ops command refused by RBAC');
      await options.onRefused?.({ userId: body.user_id, channelId: body.channel_id, command: verb.name, message: verdict.message }).catch((err) => logger.error({ err }, 'could not audit a refusal'));
      return ephemeral(`You may not run \`/ops ${verb.name}\`. ${verdict.message}`);
    }
    const ctx: CommandContext = {
      userId: body.user_id,
      userName: body.user_name,
      identity: who,
      triggerId: body.trigger_id,
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

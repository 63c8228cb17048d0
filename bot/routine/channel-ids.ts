import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import type { ChannelDirectory } from '../../lib/slack-channel-directory';
import type { ChannelResolver } from '../incidents/slack-channels';

/**
 * Publishes the ids of the channels the ops config names, for the workers
 * (which hold no Slack token) to post and upload into. A failure is logged:
 * the workers then use the names, which chat.postMessage accepts. It asks
 * Slack each time, so ids published by an earlier start are refreshed.
 */
export async function publishChannelIds(config: OpsConfig, resolve: ChannelResolver, directory: ChannelDirectory, logger: Logger): Promise<void> {
  const names = new Set([...Object.values(config.channels), ...(config.routine.report_channel ? [config.routine.report_channel] : [])]);
  try {
    const entries: Record<string, string> = {};
    for (const name of names) {
      const id = await resolve.fromSlack(name);
      if (id !== name) entries[name] = id;
    }
    await directory.publish(entries);
  } catch (err) {
    logger.warn({ err }, 'could not publish channel ids for the workers');
  }
}

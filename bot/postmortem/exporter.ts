import crypto from 'node:crypto';
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import express, { type Router } from 'express';
import type { AuditLog } from '../../lib/audit-log';
import { isCodedError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import { mayRunCommand } from '../../lib/ops-config-rbac';
import { tokenMatcher } from '../alerts/alertmanager-webhook';
import { ephemeral, type OpsVerb } from '../commands/types';
import { ActionId } from '../incidents/incident-message';
import type { IncidentStore } from '../incidents/incident-store';
import { buildPostmortem, renderMarkdown, type Postmortem } from './postmortem';

export interface PostmortemExporterOptions {
  store: IncidentStore;
  audit: AuditLog;
  config: OpsConfig;
  /** The bot's outbox: files go into the thread in the incident's lane, like every Slack write. */
  outbox: { upload(input: { id?: string; lane?: string; channel: string; threadTs?: string; filename: string; title?: string; initialComment?: string; content: string }): Promise<string> };
  /** Bearer token of the bot's HTTP API (BOT_API_TOKEN); the export routes answer 503 without one. */
  apiToken?: string;
  logger: Logger;
}

/** What changes between two exports; the time of generation does not (an identical export uploads once). */
function contentDigest(pm: Postmortem): string {
  const { generatedAt: _g, ...rest } = pm;
  return crypto.createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/**
 * Post-mortem exports: `/ops postmortem INC-42`, the Post-mortem button on a
 * resolved incident, `GET /incidents/INC-42/postmortem.md|.json` (bearer
 * BOT_API_TOKEN) and `npm run postmortem`. Each export is built afresh from the
 * timeline and the audit, so exporting after more notes gives the new document.
 */
export function createPostmortemExporter(options: PostmortemExporterOptions) {
  const { store, audit, config, outbox, logger } = options;

  const build = (incidentId: string) => buildPostmortem(incidentId, { store, audit, config });

  /** Builds both forms and uploads them into the incident's thread. */
  async function exportToThread(incidentId: string, by: string): Promise<{ incidentId: string; digest: string }> {
    const pm = await build(incidentId);
    const incident = await store.get(incidentId);
    if (!incident?.channel || !incident.rootTs) throw new Error(`${incidentId} has no Slack thread yet`);
    const digest = contentDigest(pm);
    const base = `${incidentId}-postmortem`;
    const common = { lane: incidentId, channel: incident.channel, threadTs: incident.rootTs };
    await outbox.upload({
      ...common,
      id: `pm-${incidentId}-${digest}-md`,
      filename: `${base}.md`,
      title: `Post-mortem ${incidentId}`,
      initialComment: `📝 Post-mortem of ${incidentId}, asked by <@${by}>: Markdown to edit, JSON for tools.`,
      content: renderMarkdown(pm),
    });
    await outbox.upload({ ...common, id: `pm-${incidentId}-${digest}-json`, filename: `${base}.json`, title: `Post-mortem ${incidentId} (JSON)`, content: `${JSON.stringify(pm, null, 2)}\n` });
    await audit.append({ kind: 'export', actor: by, incidentId, outcome: 'ok', message: `post-mortem exported (${digest})` });
    return { incidentId, digest };
  }

  const verb: OpsVerb = {
    name: 'postmortem',
    usage: '/ops postmortem INC-42',
    summary: "build the incident's post-mortem (Markdown and JSON) and upload it into its thread",
    async run(ctx) {
      const id = ctx.args[0]?.toUpperCase() ?? '';
      if (!/^INC-\d+$/.test(id)) return ephemeral(`Name the incident: \`${verb.usage}\``);
      try {
        await exportToThread(id, ctx.userId);
        return ephemeral(`📝 The post-mortem of ${id} is on its way into the thread.`);
      } catch (err) {
        if (isCodedError(err)) return ephemeral(`⚠️ ${err.message} (${err.code})`);
        return ephemeral(`⚠️ Could not export ${id}: ${(err as Error).message}`);
      }
    },
  };

  function register(app: App): void {
    app.action<BlockAction<ButtonAction>>(ActionId.Postmortem, async ({ ack, body, action, respond }) => {
      await ack();
      const say = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
      const id = action.value ?? '';
      const userId = body.user?.id;
      if (!userId || !/^INC-\d+$/.test(id)) return void (await say('That button carries no incident id.'));
      if (!mayRunCommand(config, { id: userId, name: body.user.username ?? body.user.name }, 'postmortem')) {
        return void (await say('⛔ You may not export post-mortems. `/ops help` lists what you can run.'));
      }
      try {
        await exportToThread(id, userId);
      } catch (err) {
        logger.error({ err, incidentId: id }, 'post-mortem export failed');
        await say(`⚠️ Could not export ${id}: ${(err as Error).message}`);
      }
    });
  }

  /** GET /incidents/:id/postmortem.md and .json, behind `Authorization: Bearer $BOT_API_TOKEN`. */
  function router(): Router {
    const tokenMatches = options.apiToken ? tokenMatcher(options.apiToken) : undefined;
    const r = express.Router();
    r.get('/incidents/:id/postmortem.:format', async (req, res) => {
      if (!tokenMatches) return void res.status(503).json({ error: 'not_configured', message: 'set BOT_API_TOKEN to enable the bot API' });
      const header = req.get('authorization') ?? '';
      const given = /^Bearer (\S+)$/.exec(header)?.[1];
      if (!given || !tokenMatches(given)) {
        return void res.status(401).set('WWW-Authenticate', 'Bearer realm="mcp-financial-ops-bot"').json({ error: 'unauthorized', message: 'a valid BOT_API_TOKEN bearer token is required' });
      }
      const id = String(req.params.id).toUpperCase();
      const format = String(req.params.format);
      if (!/^INC-\d+$/.test(id) || (format !== 'md' && format !== 'json')) return void res.status(400).json({ error: 'bad_request', message: 'expected /incidents/INC-<n>/postmortem.md or .json' });
      try {
        const pm = await build(id);
        if (format === 'json') return void res.json(pm);
        res.type('text/markdown; charset=utf-8').send(renderMarkdown(pm));
      } catch (err) {
        if (isCodedError(err) && err.code === 'E_NOT_FOUND') return void res.status(404).json({ error: 'not_found', message: err.message });
        logger.error({ err, incidentId: id }, 'post-mortem build failed');
        res.status(500).json({ error: 'internal', message: 'could not build the post-mortem' });
      }
    });
    return r;
  }

  return { build, exportToThread, verb, register, router };
}

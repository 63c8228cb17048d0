import { isCodedError } from '../../lib/errors';
import { escapeMrkdwn } from '../../lib/slack-text';
import type { Incident, IncidentStore, Priority } from '../incidents/incident-store';
import type { IncidentService } from '../incidents/incident-service';
import { SNOOZE_CHOICES } from '../incidents/incident-service';
import { ephemeral, type CommandContext, type CommandReply, type OpsVerb } from './types';

const INCIDENT_ID = /^INC-\d+$/i;

function incidentArg(ctx: CommandContext): string | CommandReply {
  const id = ctx.args[0]?.toUpperCase();
  if (!id || !INCIDENT_ID.test(id)) return ephemeral(`Name the incident: \`/ops ${ctx.text.split(/\s+/)[0]} INC-42\``);
  return id;
}

/** Runs a service call, turning its coded errors into a clear ephemeral reply. */
async function attempt(fn: () => Promise<Incident>, done: (i: Incident) => string): Promise<CommandReply> {
  try {
    return ephemeral(done(await fn()));
  } catch (err) {
    if (isCodedError(err)) return ephemeral(`⚠️ ${err.message} (${err.code})`);
    throw err;
  }
}

export function threadLink(incident: Incident, slackUrl: string): string {
  if (!incident.channel || !incident.rootTs) return incident.id;
  return `<${slackUrl.replace(/\/$/, '')}/archives/${incident.channel}/p${incident.rootTs.replace('.', '')}|${incident.id}>`;
}

function age(iso: string, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export interface IncidentVerbDeps {
  service: IncidentService;
  store: IncidentStore;
  /** Base URL of the Slack workspace, for thread links. */
  slackUrl: () => Promise<string>;
}

export function incidentVerbs({ service, store, slackUrl }: IncidentVerbDeps): OpsVerb[] {
  const actor = (ctx: CommandContext) => ({ id: ctx.userId, name: ctx.userName });
  const withId =
    (fn: (id: string, ctx: CommandContext) => Promise<CommandReply>) =>
    async (ctx: CommandContext): Promise<CommandReply> => {
      const id = incidentArg(ctx);
      return typeof id === 'string' ? fn(id, ctx) : id;
    };

  return [
    {
      name: 'incidents',
      usage: '/ops incidents',
      summary: 'open incidents: priority, age, state, owner, thread',
      async run(ctx) {
        const ids = await store.openIds();
        const incidents = (await Promise.all(ids.map((id) => store.get(id)))).filter((i): i is Incident => Boolean(i));
        if (!incidents.length) return ephemeral('No open incidents. 🎉');
        incidents.sort((a, b) => a.priority.localeCompare(b.priority) || a.createdAt.localeCompare(b.createdAt));
        const url = await slackUrl();
        const lines = incidents.map(
          (i) => `• *${i.priority}* ${threadLink(i, url)} ${escapeMrkdwn(i.title)} · ${i.state} · ${age(i.createdAt, ctx.now)} · ${i.owner ? `owner <@${i.owner}>` : 'no owner'}`,
        );
        return ephemeral(`*Open incidents (${incidents.length})*\n${lines.join('\n')}`);
      },
    },
    {
      name: 'status',
      usage: '/ops status INC-42',
      summary: 'one incident in detail',
      run: withId(async (id) => {
        const i = await store.get(id);
        if (!i) return ephemeral(`⚠️ ${id} does not exist`);
        const url = await slackUrl();
        return ephemeral(
          `*${i.id}* ${threadLink(i, url)} · *${i.priority}* (${escapeMrkdwn(i.priorityRule)}) · ${i.state}\n${escapeMrkdwn(i.title)}: ${escapeMrkdwn(i.summary)}\n` +
            `Alerts: ${i.firing} firing, ${i.resolved} resolved · policy ${i.policy || '—'} · owner ${i.owner ? `<@${i.owner}>` : '—'}`,
        );
      }),
    },
    {
      name: 'ack',
      usage: '/ops ack INC-42',
      summary: 'acknowledge: you own it, escalation stops',
      run: withId((id, ctx) => attempt(() => service.acknowledge(id, actor(ctx)), (i) => `👀 You acknowledged ${i.id}.`)),
    },
    {
      name: 'unack',
      usage: '/ops unack INC-42',
      summary: 'give it back: escalation starts again',
      run: withId((id, ctx) => attempt(() => service.unacknowledge(id, actor(ctx)), (i) => `↩️ ${i.id} is unacknowledged.`)),
    },
    {
      name: 'resolve',
      usage: '/ops resolve INC-42 [note]',
      summary: 'close it; escalation ends',
      run: withId((id, ctx) => attempt(() => service.resolve(id, actor(ctx), ctx.args.slice(1).join(' ')), (i) => `✅ ${i.id} resolved.`)),
    },
    {
      name: 'snooze',
      usage: `/ops snooze INC-42 ${SNOOZE_CHOICES.join('|')}`,
      summary: 'silence it in Alertmanager for a while',
      run: withId((id, ctx) => {
        const length = ctx.args[1];
        if (!length) return Promise.resolve(ephemeral(`How long? \`/ops snooze ${id} ${SNOOZE_CHOICES.join('|')}\``));
        return attempt(() => service.snooze(id, actor(ctx), length), (i) => `😴 ${i.id} snoozed for ${length}.`);
      }),
    },
    {
      name: 'unsnooze',
      usage: '/ops unsnooze INC-42',
      summary: 'end a snooze now',
      run: withId((id, ctx) => attempt(() => service.unsnooze(id, actor(ctx)), (i) => `⏰ ${i.id} is awake again.`)),
    },
    {
      name: 'reclassify',
      usage: '/ops reclassify INC-42 P2',
      summary: 'change the priority; escalation is re-planned',
      run: withId((id, ctx) => {
        const p = ctx.args[1]?.toUpperCase();
        if (!p || !/^P[1-4]$/.test(p)) return Promise.resolve(ephemeral(`Which priority? \`/ops reclassify ${id} P1|P2|P3|P4\``));
        return attempt(() => service.reclassify(id, actor(ctx), p as Priority), (i) => `🏷️ ${i.id} is now ${i.priority}.`);
      }),
    },
  ];
}

import crypto from 'node:crypto';
import type { Queue } from 'bullmq';
import { RoutineReportName, type RoutineJob } from '../../lib/contracts';
import { ROUTINE_REPORTS } from '../../lib/ops-config-routine';
import { ephemeral, type OpsVerb } from '../commands/types';

/**
 * `/ops report <name>`: runs one of the routine's reports now. The bot only
 * queues it; the workers run it (they hold the MCP client and Prometheus) and
 * post the result in the report channel, exactly as a scheduled run would.
 */
export function reportVerbs(deps: { queue: Pick<Queue<RoutineJob>, 'add'>; reportChannel: string }): OpsVerb[] {
  return [
    {
      name: 'report',
      usage: `/ops report ${ROUTINE_REPORTS.join('|')}`,
      summary: 'run a routine report or checklist now',
      async run(ctx) {
        const parsed = RoutineReportName.safeParse((ctx.args[0] ?? '').toLowerCase());
        if (!parsed.success) {
          const given = ctx.args[0] ? `Unknown report \`${ctx.args[0].replace(/[<>&`]/g, '').slice(0, 40)}\`. ` : '';
          return ephemeral(`${given}Usage: \`/ops report <name>\`, one of: ${ROUTINE_REPORTS.map((r) => `\`${r}\``).join(', ')}`);
        }
        const report = parsed.data;
        const nonce = crypto.randomUUID().slice(0, 8);
        await deps.queue.add(report, { kind: 'report', report, requestedBy: ctx.userId }, {
          jobId: `report-${report}-${nonce}`,
          attempts: 3,
          backoff: { type: 'exponential', delay: 5000 },
          removeOnComplete: 200,
          removeOnFail: 500,
        });
        return ephemeral(`⏳ \`${report}\` queued; the result goes to #${deps.reportChannel}.`);
      },
    },
  ];
}

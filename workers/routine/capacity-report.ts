import { parseDuration } from '../../lib/duration';
import { clip, escapeMrkdwn } from '../../lib/slack-text';
import { renderCapacityChart, type ChartPanel } from './chart';
import { fmt, reportChannel, routineDay, settle, type RoutineContext } from './context';
import { daysUntil, fitLinear, project, type LinearFit } from './forecast';
import { CAPACITY_QUERIES, FORECAST_SERIES } from './queries';

/**
 * The monthly capacity review (the guide's Capacity Planning): its resource
 * queries, a linear-trend forecast of CPU, memory and request volume over the
 * horizon (90 days) with each fit's r², and a PNG chart of history and trend,
 * posted as one file message in the report channel (through the outbox).
 */
export interface CapacityForecast {
  key: string;
  title: string;
  unit: string;
  fit?: LinearFit;
  current?: number;
  projected?: number;
  history: Array<[number, number]>;
}

function describeValue(v: number | undefined, unit: string): string {
  if (v === undefined) return 'n/a';
  if (unit === 'bytes') return fmt.bytes(v);
  if (unit === '%') return `${v.toFixed(1)}%`;
  if (unit === 'req/s') return `${v.toFixed(2)} req/s`;
  return fmt.int(v);
}

export async function capacityForecasts(ctx: RoutineContext): Promise<CapacityForecast[]> {
  const prom = ctx.prometheus!;
  const cap = ctx.config.routine.capacity;
  const end = ctx.now();
  const start = new Date(end.getTime() - parseDuration(cap.history));
  const horizonAt = end.getTime() + parseDuration(cap.horizon);
  return Promise.all(
    FORECAST_SERIES.map(async (s) => {
      const series = await settle(prom.queryRange(s.expr, start, end, parseDuration(cap.step) / 1000));
      if (!series.ok) ctx.logger.warn({ series: s.key, err: series.error }, 'capacity report: range query failed');
      const history = ((series.ok ? series.value[0]?.points : undefined) ?? []).map(([t, v]) => [t * 1000, v * s.scale] as [number, number]);
      const fit = fitLinear(history);
      return {
        key: s.key,
        title: s.title,
        unit: s.unit,
        fit,
        history,
        current: history.at(-1)?.[1],
        projected: fit ? Math.max(0, project(fit, horizonAt)) : undefined,
      };
    }),
  );
}

export async function capacityReportJob(ctx: RoutineContext): Promise<string> {
  const channel = await reportChannel(ctx);
  if (!ctx.prometheus) {
    await ctx.slack.reply({ channel, text: '📈 Capacity report: PROMETHEUS_URL is not set for the workers, nothing to report.' });
    return 'no prometheus';
  }
  const cap = ctx.config.routine.capacity;
  const now = ctx.now().getTime();
  const horizonAt = now + parseDuration(cap.horizon);
  const [guide, forecasts, memLimit] = await Promise.all([
    Promise.all(CAPACITY_QUERIES.map(async (q) => ({ ...q, r: await settle(ctx.prometheus!.scalar(`max(${q.expr})`)) }))),
    capacityForecasts(ctx),
    settle(ctx.prometheus.scalar('max(process_memory_limit_bytes{service="mcp-financial-server"})')),
  ]);
  const lines = guide.map((q) => `• ${q.label}: ${q.r.ok ? describeValue(q.r.value, q.unit) : `n/a (${escapeMrkdwn(clip(q.r.error, 100))})`}`);
  const forecastLines = forecasts.map((f) => {
    if (!f.fit) return `• *${f.title}*: not enough history to fit a trend (${f.history.length} point(s))`;
    const perMonth = f.fit.slopePerDay * 30;
    return `• *${f.title}*: now ${fmt.num(f.current, 2)} ${f.unit}, in ${cap.horizon} ${fmt.num(f.projected, 2)} ${f.unit} (trend ${perMonth >= 0 ? '+' : ''}${fmt.num(perMonth, 3)} ${f.unit}/30d, r² ${f.fit.r2.toFixed(2)}, ${f.fit.points} points)`;
  });
  const memory = forecasts.find((f) => f.key === 'memory');
  if (memory?.fit && memLimit.ok && memLimit.value) {
    const days = daysUntil(memory.fit, (memLimit.value * 0.8) / 1024 / 1024, now);
    forecastLines.push(`• Memory reaches 80% of its limit (${fmt.bytes(memLimit.value)}): ${days === undefined ? 'not on this trend' : days === 0 ? 'already' : `in about ${Math.round(days)} days`}`);
  }
  const panels: ChartPanel[] = forecasts.map((f) => ({
    title: f.title,
    unit: f.unit,
    history: f.history,
    trend: f.fit && f.history.length ? [[f.history[0]![0], project(f.fit, f.history[0]![0])], [horizonAt, project(f.fit, horizonAt)]] : [],
  }));
  const png = await renderCapacityChart(panels, cap.chart_width, cap.chart_height);
  const day = routineDay(ctx);
  const comment = [
    `📈 *Monthly capacity report · ${day}* (history ${cap.history}, forecast ${cap.horizon})`,
    '*The guide’s capacity queries*',
    ...lines,
    `*Forecast* (least-squares line over the history)`,
    ...forecastLines,
  ].join('\n');
  await ctx.slack.upload({ channel, filename: `capacity-${day}.png`, title: `Capacity forecast ${day}`, initialComment: comment, content: png });
  return `chart ${png.length} bytes`;
}

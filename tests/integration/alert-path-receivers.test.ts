import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { listen, type RunningServer } from '../../lib/http';
import { renderMonitoring, type RenderedMonitoring } from '../../monitoring/render';
import { freePort, startAlertmanager, startPrometheus, type ToolProcess } from '../../monitoring/processes';
import { eventually } from '../helpers/ports';

jest.setTimeout(90_000);

/**
 * "The bot is down" must not be delivered only to the bot. With the bot and the workers down for real
 * (nothing listens on their ports), real Prometheus fires OpsComponentDown and the always-firing Watchdog,
 * and real Alertmanager delivers them to the second receiver and the dead man's switch.
 */
describe('the alert path does not depend on the bot', () => {
  let tmp: string;
  let out: RenderedMonitoring;
  let receiver: RunningServer;
  let prometheus: ToolProcess | undefined;
  let alertmanager: ToolProcess | undefined;
  const received: Array<{ path: string; alertnames: string[] }> = [];

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => resolve(data));
    });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alert-path-'));
    receiver = await listen(async (req, res) => {
      const body = JSON.parse(await readBody(req)) as { alerts: Array<{ labels: { alertname: string } }> };
      received.push({ path: req.url ?? '', alertnames: body.alerts.map((a) => a.labels.alertname) });
      res.writeHead(200).end('{}');
    }, 0);
    const closed = await freePort();
    const amPort = await freePort();
    out = renderMonitoring({
      outDir: path.join(tmp, 'config'),
      webhookToken: 'alert-path-token-0123456789',
      botWebhookUrl: `http://127.0.0.1:${closed}/alertmanager/webhook`,
      opsFallbackWebhookUrl: `${receiver.url}/ops-fallback`,
      watchdogWebhookUrl: `${receiver.url}/watchdog`,
      targets: { server: `127.0.0.1:${closed}`, bot: `127.0.0.1:${closed}`, workers: `127.0.0.1:${closed}`, accountService: `127.0.0.1:${closed}`, transactionService: `127.0.0.1:${closed}` },
      alertmanagers: [`127.0.0.1:${amPort}`],
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      alertFor: '0s',
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '1m',
      alerts: ['Watchdog', 'OpsComponentDown'],
    });
    alertmanager = await startAlertmanager({ configFile: out.alertmanagerConfig, dataDir: path.join(tmp, 'am'), port: amPort });
    prometheus = await startPrometheus({ configFile: out.prometheusConfig, dataDir: path.join(tmp, 'prom') });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await receiver?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const routesTo = (...labels: string[]) => {
    const r = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${out.alertmanagerConfig}`, ...labels], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    return r.stdout.trim();
  };

  it('routes (amtool): Watchdog only to the dead man\'s switch, the alert path\'s own alerts to the second receiver and the bot, the rest to the bot', () => {
    expect(routesTo('alertname=Watchdog')).toBe('watchdog');
    expect(routesTo('alertname=OpsComponentDown', 'service=mcp-ops-bot')).toBe('ops-fallback,mcp-ops-bot');
    expect(routesTo('alertname=SlackPostsRefused', 'service=bot')).toBe('ops-fallback,mcp-ops-bot');
    expect(routesTo('alertname=SlackWritesFailing', 'service=bot')).toBe('ops-fallback,mcp-ops-bot');
    expect(routesTo('alertname=SlackWritesBehind', 'service=bot')).toBe('ops-fallback,mcp-ops-bot');
    expect(routesTo('alertname=IncidentOpeningsBehind', 'service=bot')).toBe('ops-fallback,mcp-ops-bot');
    expect(routesTo('alertname=HighErrorRate', 'service=mcp-financial-server')).toBe('mcp-ops-bot');
    // The committed file routes the same way.
    const committed = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${path.join(__dirname, '../../monitoring/alertmanager.yml')}`, 'alertname=Watchdog'], { encoding: 'utf8' });
    expect(committed.stdout.trim()).toBe('watchdog');
  });

  it('with the bot down, OpsComponentDown reaches the second receiver and the Watchdog heartbeat the switch', async () => {
    await eventually(async () => received.some((r) => r.path === '/watchdog' && r.alertnames.includes('Watchdog')), 45_000, 200);
    await eventually(async () => received.some((r) => r.path === '/ops-fallback' && r.alertnames.includes('OpsComponentDown')), 45_000, 200);
    expect(received.filter((r) => r.path === '/watchdog').flatMap((r) => r.alertnames).every((n) => n === 'Watchdog')).toBe(true);
    expect(received.filter((r) => r.path === '/ops-fallback').flatMap((r) => r.alertnames)).not.toContain('Watchdog');
  });
});

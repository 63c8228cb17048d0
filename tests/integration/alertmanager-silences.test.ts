import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSilenceClient } from '../../lib/alertmanager-silences';
import { listen, type RunningServer } from '../../lib/http';
import { startAlertmanager, type ToolProcess } from '../../monitoring/processes';

jest.setTimeout(60_000);

/** Expiring silences: what the real Alertmanager answers, and a 500 that is a real failure. */
describe('silence expiry', () => {
  let am: ToolProcess;
  let dir: string;
  let broken: RunningServer;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-expire-'));
    fs.writeFileSync(path.join(dir, 'alertmanager.yml'), 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    am = await startAlertmanager({ configFile: path.join(dir, 'alertmanager.yml'), dataDir: dir });
    // An Alertmanager whose silence store fails (a full disk, a bug): DELETE answers 500, the silence stays active.
    // The real binary cannot be made to fail like this on demand; this stands in for that one answer.
    broken = await listen((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'DELETE') return void res.writeHead(500).end('"failed to persist the silence state"');
      res.writeHead(200).end(JSON.stringify({ id: 'stuck', status: { state: 'active' }, endsAt: new Date(Date.now() + 3_600_000).toISOString() }));
    }, 0);
  });

  afterAll(async () => {
    await broken?.close();
    await am?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('expires a real silence; expiring it again, or an unknown one (Alertmanager: 500 "silence not found"), is not an error', async () => {
    const client = createSilenceClient(am.url);
    const id = await client.create([{ name: 'alertname', value: 'ExpireMe', isRegex: false }], new Date(Date.now() + 3_600_000), 'test', 'expiry test');
    await client.expire(id);
    expect((await client.get(id))?.status.state).toBe('expired');
    await expect(client.expire(id)).resolves.toBeUndefined();
    await expect(client.expire('00000000-0000-0000-0000-000000000000')).resolves.toBeUndefined();
  });

  it('a 500 while the silence is still active is a failure, not a success', async () => {
    const client = createSilenceClient(broken.url);
    await expect(client.expire('stuck')).rejects.toMatchObject({ code: 'E_INTERNAL', message: expect.stringContaining('HTTP 500') });
  });
});

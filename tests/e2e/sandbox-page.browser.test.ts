/**
 * The sandbox page as a person uses it, in a real browser (Debian's chromium),
 * over the processes `npm start` runs: `npm run drill -- backend-down --wait-for-ack`
 * opens a P2 whose root message appears live in #ops-critical, carol (viewer) is
 * refused in a reply only she sees, bob runs the health check from the thread,
 * sees the worker's reply and acknowledges, the drill resolves the incident, and
 * `/ops help` answers in the composer.
 * Nothing of ours is mocked. Screenshots go to .tmp/screenshots/; with
 * UPDATE_SCREENSHOTS=1 the README's docs/images/sandbox-incident.png is rewritten.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { collectErrors, launchChromium, shot } from '../helpers/browser';
import { drillReport, runDrillCli } from '../helpers/drill';
import { startStack, type Stack } from '../helpers/stack';

const README_SHOT = path.resolve(__dirname, '../../docs/images/sandbox-incident.png');

describe('the sandbox page: an incident worked from the browser', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startStack();
  }, 70_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.cleanup();
  }, 30_000);

  it('a drill opens the incident live; a viewer is refused privately; bob runs the health check and acknowledges; the drill resolves it', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    errors = collectErrors(page);
    await page.goto(stack.url('SANDBOX_SLACK_PORT', '/#user=bob&channel=C0OPSCRIT'));
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await page.locator('#role').innerText()).toBe('responder');
    await shot(page, 'e2e-1-empty');

    // `npm run drill -- backend-down --wait-for-ack`: the drill takes account-service down, raises the
    // alert (no Prometheus in this stack, so as Alertmanager would) and waits for a person to acknowledge.
    const drill = runDrillCli(stack, 'backend-down', ['--wait-for-ack', '--timeout', '50s']);
    // Live: no reload between the drill and the message.
    const root = page.locator('#list .msg', { hasText: 'BackendServiceDown' }).first();
    await root.locator('.hdr', { hasText: 'BackendServiceDown' }).waitFor({ timeout: 20_000 });
    await shot(page, 'e2e-2-root-live');

    await root.hover();
    await root.locator('.tools [data-thread]').click();
    const thread = page.locator('#tlist');
    const threadRoot = thread.locator('.msg').first();
    await threadRoot.locator('.hdr', { hasText: 'BackendServiceDown' }).waitFor();

    // carol is a viewer: the bot refuses, in a reply only she sees, and nothing changes.
    await page.locator('#user').selectOption('carol');
    expect(await page.locator('#role').innerText()).toBe('viewer');
    await threadRoot.locator('button.btn', { hasText: /(^|\s)Acknowledge$/ }).click();
    await page.locator('.eph', { hasText: 'You may not ack' }).waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-3-carol-refused');

    await page.locator('#user').selectOption('bob');
    expect(await page.locator('#role').innerText()).toBe('responder');
    await threadRoot.locator('.hdr', { hasText: 'BackendServiceDown' }).waitFor();
    await page.waitForTimeout(500);
    expect(await page.locator('.eph', { hasText: 'You may not ack' }).count()).toBe(0);
    expect(await threadRoot.locator('.fields').innerText()).not.toContain('Acknowledged');

    await threadRoot.locator('button.btn', { hasText: 'Health check' }).click();
    const modal = page.locator('.modal');
    if (await modal.isVisible()) await modal.locator('.confirm').click();
    // The bot ran one health check at open ("asked by diagnostics"); this one is bob's.
    await thread.locator('.msg', { hasText: /Health check \(full\) for INC-\d+, asked by @bob/ }).waitFor({ timeout: 20_000 });
    await shot(page, 'e2e-4-health-check');
    if (process.env.UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: README_SHOT });

    await threadRoot.locator('button.btn', { hasText: /(^|\s)Acknowledge$/ }).click();
    await thread.locator('.msg', { hasText: 'Acknowledged by' }).first().waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-5-acknowledged');

    // The drill saw bob's acknowledgement, cleared its fault and resolved the alert.
    const run = await drill;
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    expect(drillReport(run)).toMatchObject({ scenario: 'backend-down', acknowledged: true, acknowledgedBy: expect.stringMatching(/bob/), resolved: true, faultsCleared: true });
    await page.locator('#list .msg', { hasText: 'BackendServiceDown' }).filter({ hasText: /resolved/i }).first().waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-6-resolved');

    // Resolved: the root offers the post-mortem; bob exports it and both files land in the thread.
    await threadRoot.locator('button.btn', { hasText: 'Post-mortem' }).click();
    await thread.locator('.msg', { hasText: /Post-mortem of INC-\d+, asked by @bob/ }).waitFor({ timeout: 20_000 });
    await thread.locator('.file', { hasText: /INC-\d+-postmortem\.md/ }).first().waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-6b-postmortem');

    await page.locator('#user').selectOption('alice');
    expect(await page.locator('#role').innerText()).toBe('admin');
    await page.locator('#list .msg', { hasText: 'BackendServiceDown' }).first().waitFor();
    await page.locator('#input').fill('/ops help');
    await page.locator('#input').press('Enter');
    await page.locator('#list .eph', { hasText: '/ops' }).first().waitFor({ timeout: 10_000 });
    // alice's own ephemeral is there, carol's still is not.
    expect(await page.locator('.eph', { hasText: 'You may not ack' }).count()).toBe(0);
    await shot(page, 'e2e-7-ops-help');

    expect(errors).toEqual([]);
    // Ctrl-C with the page still connected to the event stream: everything stops, exit code 0.
    expect(await stack.interrupt()).toBe(0);
    expect(stack.output()).toContain('everything stopped');
    await page.close();
  }, 90_000);
});

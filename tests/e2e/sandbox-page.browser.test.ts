/**
 * The sandbox page as a person uses it, in a real browser (Debian's chromium),
 * over the processes `npm start` runs: an Alertmanager webhook opens a P1, its
 * root message appears live in #ops-critical, bob acknowledges and runs the
 * health check from the thread and sees the worker's reply, carol (viewer) is
 * refused in a reply only she sees, and `/ops help` answers in the composer.
 * Nothing of ours is mocked. Screenshots go to .tmp/screenshots/; with
 * UPDATE_SCREENSHOTS=1 the README's docs/images/sandbox-incident.png is rewritten.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { collectErrors, launchChromium, shot } from '../helpers/browser';
import { firingFor } from '../helpers/fixtures';
import { postAlert, startStack, type Stack } from '../helpers/stack';

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

  it('shows the incident live, acknowledges, runs the health check, refuses a viewer and answers /ops help', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    errors = collectErrors(page);
    await page.goto(stack.url('SANDBOX_SLACK_PORT', '/#user=bob&channel=C0OPSCRIT'));
    await page.locator('#live', { hasText: 'live' }).waitFor();
    expect(await page.locator('#role').innerText()).toBe('responder');
    await shot(page, 'e2e-1-empty');

    // Sent the way the other e2e tests send it (a drill, `npm run drill`, can replace this once it exists).
    const res = await postAlert(stack, firingFor('PageDrillServiceDown', { severity: 'critical' }));
    expect(res.status).toBe(200);
    // Live: no reload between the webhook and the message.
    const root = page.locator('#list .msg', { hasText: res.incident }).first();
    await root.locator('.hdr', { hasText: 'P1 · PageDrillServiceDown' }).waitFor({ timeout: 20_000 });
    await shot(page, 'e2e-2-root-live');

    await root.hover();
    await root.locator('.tools [data-thread]').click();
    const thread = page.locator('#tlist');
    const threadRoot = thread.locator('.msg').first();
    await threadRoot.locator('.hdr', { hasText: 'PageDrillServiceDown' }).waitFor();

    await threadRoot.locator('button.btn', { hasText: 'Acknowledge' }).click();
    await threadRoot.locator('button.btn', { hasText: 'Unacknowledge' }).waitFor({ timeout: 10_000 });
    await threadRoot.locator('.fields', { hasText: 'Acknowledged' }).waitFor();
    expect(await threadRoot.locator('.fields').innerText()).toContain('@bob');
    await shot(page, 'e2e-3-acknowledged');

    await threadRoot.locator('button.btn', { hasText: 'Health check' }).click();
    const modal = page.locator('.modal');
    if (await modal.isVisible()) await modal.locator('.confirm').click();
    // The bot ran one health check at open ("asked by diagnostics"); this one is bob's.
    await thread.locator('.msg', { hasText: /Health check \(full\) for INC-\d+, asked by @bob/ }).waitFor({ timeout: 20_000 });
    await shot(page, 'e2e-4-health-check');
    if (process.env.UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: README_SHOT });

    // carol is a viewer: the bot refuses, in a reply only she sees.
    await page.locator('#user').selectOption('carol');
    expect(await page.locator('#role').innerText()).toBe('viewer');
    await threadRoot.locator('button.btn', { hasText: 'Resolve' }).click();
    const refusal = page.locator('.eph', { hasText: 'You may not resolve' });
    await refusal.waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-5-carol-refused');

    await page.locator('#user').selectOption('alice');
    expect(await page.locator('#role').innerText()).toBe('admin');
    await page.locator('#list .msg', { hasText: res.incident }).first().waitFor();
    await page.waitForTimeout(500);
    expect(await page.locator('.eph', { hasText: 'You may not resolve' }).count()).toBe(0);
    // The incident is still open: carol's click changed nothing.
    expect(await threadRoot.locator('.fields').innerText()).toContain('Acknowledged');

    await page.locator('#input').fill('/ops help');
    await page.locator('#input').press('Enter');
    await page.locator('#list .eph', { hasText: '/ops' }).first().waitFor({ timeout: 10_000 });
    // alice's own ephemeral is there, carol's still is not.
    expect(await page.locator('.eph', { hasText: 'You may not resolve' }).count()).toBe(0);
    await shot(page, 'e2e-6-ops-help');

    expect(errors).toEqual([]);
    // Ctrl-C with the page still connected to the event stream: everything stops, exit code 0.
    expect(await stack.interrupt()).toBe(0);
    expect(stack.output()).toContain('everything stopped');
    await page.close();
  }, 60_000);
});

/**
 * The sandbox page in a real browser (Debian's chromium through playwright-core):
 * Block Kit and mrkdwn as Slack shows them, posted content never becoming markup,
 * live updates over server-sent events, the composer, the thread box, reactions,
 * Slack's confirm dialog and static selects. The app is a plain HTTP server that
 * records what the sandbox delivers to it.
 */
import http from 'node:http';
import { WebClient } from '@slack/web-api';
import type { Browser, Page } from 'playwright-core';
import { listen, type RunningServer } from '../../lib/http';
import { createSlackSandbox, type SlackSandbox } from '../../sandbox/slack';
import { collectErrors, launchChromium, shot } from '../helpers/browser';
import { eventually } from '../helpers/ports';

const TOKEN = 'xoxb-sandbox-page-browser-test';
// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

type Delivery = Record<string, unknown>;

describe('sandbox slack page in chromium', () => {
  let sandbox: SlackSandbox;
  let app: RunningServer;
  let url: string;
  let web: WebClient;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const got: Delivery[] = [];

  beforeAll(async () => {
    app = await listen(
      (req: http.IncomingMessage, res: http.ServerResponse) => {
        let raw = '';
        req.on('data', (d) => (raw += d));
        req.on('end', () => {
          const form = new URLSearchParams(raw).get('payload');
          got.push(JSON.parse(form ?? (raw.startsWith('{') ? raw : '{}')) as Delivery);
          res.end();
        });
      },
      0,
    );
    sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: 'page-browser-test-signing-secret-00', requestUrl: `${app.url}/slack/events`, rateLimits: false });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await sandbox?.stop();
    await app?.close();
  });
  beforeEach(async () => {
    sandbox.reset();
    got.length = 0;
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    errors = collectErrors(page);
    await page.goto(`${url}/#user=bob&channel=C0OPSCRIT`);
    await page.locator('#live', { hasText: 'live' }).waitFor();
  });
  afterEach(async () => {
    await page?.close();
    expect(errors).toEqual([]);
  });

  it('renders Block Kit and mrkdwn as Slack does, and posted markup stays text', async () => {
    const evil = '<img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>';
    const up = await web.filesUploadV2({ channel_id: 'C0OPSCRIT', filename: 'graph.png', file: PNG, title: 'Error rate' });
    const fileId = (up.files as unknown as { files: { id: string }[] }[])[0]!.files[0]!.id;
    const fileUrl = ((await web.files.info({ file: fileId })).file as { url_private: string }).url_private;
    await web.chat.postMessage({ channel: 'ops-critical', text: `plain ${evil}` });
    await web.chat.postMessage({
      channel: 'ops-critical',
      text: 'fallback',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: `🔴 P1 · Header ${evil}` } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `*bold* _italic_ ~strike~ \`inline\` <http://example.com/runbook|the runbook> <http://example.com/bare> <@U0BOB> <#C0OPSALRT|ops-alerts> <!here> ${evil}\n> quoted\n\`\`\`line 1\n*not bold*\`\`\`` },
          fields: [{ type: 'mrkdwn', text: '*State*\nopen' }, { type: 'mrkdwn', text: '*Owner*\n<@U0ALICE>' }],
          accessory: { type: 'button', action_id: 'acc', text: { type: 'plain_text', text: 'Acc <script>1</script>' } },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'context *line*' }] },
        { type: 'divider' },
        { type: 'image', image_url: fileUrl, alt_text: 'the graph' },
        { type: 'actions', elements: [{ type: 'button', action_id: 'go', style: 'primary', text: { type: 'plain_text', text: 'Go' } }, { type: 'button', action_id: 'stop', style: 'danger', text: { type: 'plain_text', text: 'Stop' } }] },
      ],
    });
    const list = page.locator('#list');
    await list.locator('.hdr', { hasText: 'Header' }).waitFor();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await expect(list.innerText()).resolves.toContain('<script>window.pwned=2</script>');
    expect(await list.locator('.hdr').innerText()).toContain('<img src=x onerror="window.pwned=1">');

    const section = list.locator('.section').first();
    expect(await section.locator('b').first().innerText()).toBe('bold');
    expect(await section.locator('i').innerText()).toBe('italic');
    expect(await section.locator('s').innerText()).toBe('strike');
    expect(await section.locator('code').innerText()).toBe('inline');
    expect(await section.locator('pre').innerText()).toBe('line 1\n*not bold*');
    expect(await section.locator('blockquote').innerText()).toBe('quoted');
    expect(await section.locator('a[href="http://example.com/runbook"]').innerText()).toBe('the runbook');
    expect(await section.locator('a[href="http://example.com/bare"]').innerText()).toBe('http://example.com/bare');
    expect(await section.locator('.mention:not(.special)').allInnerTexts()).toEqual(['@bob', '#ops-alerts', '@alice']);
    expect(await section.locator('.mention.special').innerText()).toBe('@here');
    expect(await section.locator('.fields > div').count()).toBe(2);
    expect(await section.locator('button.btn').innerText()).toBe('Acc <script>1</script>');
    expect(await list.locator('.ctx b').innerText()).toBe('line');
    expect(await list.locator('hr').count()).toBe(1);
    expect(await list.locator('button.btn.primary').innerText()).toBe('Go');
    expect(await list.locator('button.btn.danger').innerText()).toBe('Stop');
    // The uploaded file is previewed inline and the image block shows it, both served by the sandbox.
    const images = list.locator('img.preview, .img-block img');
    expect(await images.count()).toBe(2);
    for (const img of await images.all()) expect(await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)).toBe(1);
    await shot(page, 'page-block-kit');
  }, 20_000);

  it('updates live: posts, edits, threads, reactions, the composer and ephemerals for their person only', async () => {
    const list = page.locator('#list');
    const root = await web.chat.postMessage({ channel: 'ops-critical', text: 'live root' });
    await list.locator('.msg', { hasText: 'live root' }).waitFor({ timeout: 3000 });
    await web.chat.update({ channel: 'C0OPSCRIT', ts: root.ts!, text: 'live root, edited' });
    await list.locator('.msg', { hasText: 'live root, edited' }).locator('.edited').waitFor({ timeout: 3000 });

    // Reactions from the page: the picker, then the pill counts it and the app hears of it.
    const msg = list.locator('.msg', { hasText: 'live root' });
    await msg.hover();
    await msg.locator('[data-pick]').click();
    await page.locator('.picker [data-emoji="eyes"]').click();
    await msg.locator('.rx.mine', { hasText: '👀 1' }).waitFor({ timeout: 3000 });
    expect(got.find((d) => (d.event as Delivery | undefined)?.type === 'reaction_added')).toMatchObject({ event: { user: 'U0BOB', reaction: 'eyes', item: { ts: root.ts } } });

    // The composer posts as bob; the app gets a message event.
    await page.locator('#input').fill('hello from *bob*');
    await page.locator('#input').press('Enter');
    await list.locator('.msg', { hasText: 'hello from bob' }).locator('b', { hasText: 'bob' }).waitFor({ timeout: 3000 });
    expect(await list.locator('.msg', { hasText: 'hello from' }).locator('.who').innerText()).toBe('bob');
    await eventually(async () => got.some((d) => (d.event as Delivery | undefined)?.type === 'message'), 3000);

    // A reply shows the count; the thread opens; its box posts into the thread.
    await web.chat.postMessage({ channel: 'ops-critical', thread_ts: root.ts!, text: 'bot reply' });
    await msg.locator('.replies', { hasText: '1 reply' }).click();
    await page.locator('#tlist .msg', { hasText: 'bot reply' }).waitFor({ timeout: 3000 });
    await page.locator('#rinput').fill('on it');
    await page.locator('#reply button').click();
    await page.locator('#tlist .msg', { hasText: 'on it' }).waitFor({ timeout: 3000 });
    await msg.locator('.replies', { hasText: '2 replies' }).waitFor({ timeout: 3000 });
    const threadEvent = await eventually(async () => got.find((d) => (d.event as Delivery | undefined)?.text === 'on it'), 3000);
    expect(threadEvent.event).toMatchObject({ type: 'message', user: 'U0BOB', channel: 'C0OPSCRIT', thread_ts: root.ts });

    // An ephemeral for bob shows for bob only.
    await web.chat.postEphemeral({ channel: 'C0OPSCRIT', user: 'U0BOB', text: 'only bob sees this' });
    await list.locator('.eph', { hasText: 'only bob sees this' }).waitFor({ timeout: 3000 });
    await page.locator('#user').selectOption('alice');
    await expect(page.locator('#role').innerText()).resolves.toBe('admin');
    await list.locator('.msg', { hasText: 'hello from' }).waitFor();
    await page.waitForTimeout(300);
    expect(await list.locator('.eph').count()).toBe(0);
    await shot(page, 'page-live-thread');
  }, 20_000);

  it('asks with Slack’s confirm dialog in the page, and a select sends the chosen option', async () => {
    await web.chat.postMessage({
      channel: 'ops-critical',
      text: 'choose',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button', action_id: 'restart', style: 'danger', value: 'api', text: { type: 'plain_text', text: 'Restart' },
              confirm: { title: { type: 'plain_text', text: 'Restart api?' }, text: { type: 'mrkdwn', text: 'This *restarts* it' }, confirm: { type: 'plain_text', text: 'Do it' }, deny: { type: 'plain_text', text: 'Not now' }, style: 'danger' },
            },
            { type: 'static_select', action_id: 'snooze', placeholder: { type: 'plain_text', text: 'Snooze' }, options: [{ text: { type: 'plain_text', text: '1 hour' }, value: 'INC-1|1h' }, { text: { type: 'plain_text', text: '4 hours' }, value: 'INC-1|4h' }] },
          ],
        },
      ],
    });
    const clicks = () => got.filter((d) => d.type === 'block_actions');
    await page.locator('button.btn', { hasText: 'Restart' }).click();
    const modal = page.locator('.modal');
    await modal.waitFor();
    expect(await modal.locator('h3').innerText()).toBe('Restart api?');
    expect(await modal.locator('.text b').innerText()).toBe('restarts');
    expect(await modal.locator('.btn.danger').innerText()).toBe('Do it');
    await shot(page, 'page-confirm');
    await modal.locator('.deny', { hasText: 'Not now' }).click();
    await modal.waitFor({ state: 'detached' });
    await page.waitForTimeout(200);
    expect(clicks()).toHaveLength(0);

    await page.locator('button.btn', { hasText: 'Restart' }).click();
    await modal.locator('.confirm').click();
    await eventually(async () => clicks().length === 1, 3000);
    expect(clicks()[0]).toMatchObject({ user: { id: 'U0BOB' }, actions: [{ action_id: 'restart', value: 'api' }] });

    await page.locator('select.sel').selectOption('INC-1|4h');
    await eventually(async () => clicks().length === 2, 3000);
    expect(clicks()[1]).toMatchObject({ actions: [{ action_id: 'snooze', type: 'static_select', selected_option: { text: { text: '4 hours' }, value: 'INC-1|4h' } }] });
  }, 20_000);
});

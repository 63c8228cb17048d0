import { WebClient } from '@slack/web-api';
import { createSlackSandbox, type SlackSandbox } from '../../sandbox/slack';

/** WebClient's files.uploadV2 runs its three-step flow against the sandbox unchanged. */
const TOKEN = 'xoxb-sandbox-files-test';

describe('sandbox slack file uploads with the real WebClient', () => {
  let sandbox: SlackSandbox;
  let url: string;
  let web: WebClient;

  beforeAll(async () => {
    sandbox = createSlackSandbox({ botToken: TOKEN, signingSecret: 'files-test-signing-secret-0000000', requestUrl: 'http://127.0.0.1:9/slack/events', rateLimits: false });
    ({ url } = await sandbox.start(0));
    web = new WebClient(TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } });
  });
  afterAll(() => sandbox.stop());
  beforeEach(() => sandbox.reset());

  it('uploads a post-mortem into a thread and serves it back byte for byte', async () => {
    const parent = await web.chat.postMessage({ channel: 'ops-reports', text: 'INC-9 resolved' });
    const markdown = `# INC-9 post-mortem\n\n- 10:00 fired\n- 10:05 acknowledged by <@U0BOB>\n${'é'.repeat(10)}\n`;
    const res = await web.filesUploadV2({
      channel_id: 'C0OPSRPTS',
      thread_ts: parent.ts!,
      initial_comment: 'Post-mortem attached',
      filename: 'INC-9-postmortem.md',
      title: 'INC-9 post-mortem',
      content: markdown,
    });
    expect(res.ok).toBe(true);
    const thread = (await web.conversations.replies({ channel: 'C0OPSRPTS', ts: parent.ts! })).messages!;
    expect(thread).toHaveLength(2);
    const shared = thread[1] as { text: string; files: { id: string; name: string; title: string; url_private: string; size: number; mimetype: string }[] };
    expect(shared.text).toBe('Post-mortem attached');
    expect(shared.files[0]).toMatchObject({ name: 'INC-9-postmortem.md', title: 'INC-9 post-mortem', mimetype: 'text/markdown', size: Buffer.byteLength(markdown) });
    const download = await fetch(shared.files[0]!.url_private, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(markdown);
    const info = await web.files.info({ file: shared.files[0]!.id });
    expect(info.content).toBe(markdown);
  });

  it('uploads binary data without a channel and refuses to complete a file never sent', async () => {
    const data = Buffer.from([0, 1, 2, 250, 255]);
    const res = await web.filesUploadV2({ file: data, filename: 'dump.bin' });
    expect(res.ok).toBe(true);
    expect(sandbox.state.files.size).toBe(1);
    expect([...sandbox.state.files.values()][0]!.content).toEqual(data);
    const ticket = await web.files.getUploadURLExternal({ filename: 'never.txt', length: 3 });
    const err = (await web.files.completeUploadExternal({ files: [{ id: ticket.file_id! }] }).catch((e: { data: unknown }) => e.data)) as { error: string };
    expect(err.error).toBe('file_not_found');
  });
});

import { createSlackOutboxProducer, OUTBOX_FILE_MAX_BYTES } from '../../lib/slack-outbox';
import { ErrorCode } from '../../lib/errors';
import { eventually } from '../helpers/ports';
import { counter, createOutboxHarness, type OutboxHarness } from './slack-outbox-harness';

/**
 * File uploads through the outbox, against the sandbox Slack's external upload
 * flow (files.getUploadURLExternal, POST of the bytes, files.completeUploadExternal),
 * read back with conversations.replies and the file's own URL.
 */
jest.setTimeout(60_000);

type WireFile = { id: string; name: string; title: string; size: number; url_private: string };

describe('slack outbox file uploads (real Redis, sandbox Slack, real WebClient)', () => {
  let h: OutboxHarness;
  let bot: ReturnType<OutboxHarness['replica']>;

  beforeAll(async () => {
    h = await createOutboxHarness();
    bot = h.replica();
    await bot.outbox.start();
  });
  afterAll(() => h.close());

  it('uploads into a thread after the replies queued before it; a repeat id uploads once', async () => {
    const producer = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    try {
      await producer.reply({ channel: 'C0OUTBOX10', text: 'report root' });
      expect(await bot.outbox.idle(10_000)).toBe(true);
      const root = (await h.sandbox.history('outbox-10'))[0]!;
      const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
      await producer.reply({ channel: 'C0OUTBOX10', threadTs: root.ts, text: 'before the file' });
      const id = await producer.upload({ id: 'capacity-2026-12', channel: 'C0OUTBOX10', threadTs: root.ts, filename: 'capacity.png', title: 'Capacity', initialComment: 'the chart', content: bytes });
      const again = await producer.upload({ id: 'capacity-2026-12', channel: 'C0OUTBOX10', threadTs: root.ts, filename: 'capacity.png', content: bytes });
      expect(again).toBe(id);
      await producer.reply({ channel: 'C0OUTBOX10', threadTs: root.ts, text: 'after the file' });
      expect(await bot.outbox.idle(20_000)).toBe(true);

      const thread = (await h.sandbox.replies('outbox-10', root.ts)).slice(1);
      expect(thread.map((m) => m.text)).toEqual(['before the file', 'the chart', 'after the file']);
      const files = thread[1]!.files as WireFile[];
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({ name: 'capacity.png', title: 'Capacity', size: 3000 });
      const downloaded = Buffer.from(await (await fetch(files[0]!.url_private)).arrayBuffer());
      expect(downloaded.equals(bytes)).toBe(true);
      expect((await h.sandbox.stats()).calls['files.completeUploadExternal']?.total).toBe(1);
      expect(await counter(bot.registry, 'slack_api_calls_total', { method: 'files.completeUploadExternal', outcome: 'ok' })).toBe(1);
      expect(await counter(bot.registry, 'slack_api_calls_total', { method: 'files.getUploadURLExternal', outcome: 'ok' })).toBe(1);
      // The bytes leave Redis once sent.
      expect(await h.redis.exists(producer.keys.file(id))).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it('uploads a text file to a channel without a thread', async () => {
    const producer = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    try {
      await producer.upload({ channel: 'C0OUTBOX11', filename: 'audit.csv', content: 'who,what\nU1,ack\n' });
      const msg = await eventually(async () => (await h.sandbox.history('outbox-11')).find((m) => Array.isArray(m.files) && m.files.length > 0), 10_000);
      expect((msg.files as WireFile[])[0]).toMatchObject({ name: 'audit.csv', size: 16 });
    } finally {
      await producer.close();
    }
  });

  it('refuses an oversized or nameless upload with a clear error and stores nothing', async () => {
    const producer = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    try {
      const big = Buffer.alloc(OUTBOX_FILE_MAX_BYTES + 1);
      await expect(producer.upload({ id: 'too-big', channel: 'C0OUTBOX12', filename: 'big.bin', content: big })).rejects.toMatchObject({
        code: ErrorCode.ValidationFailed,
        message: expect.stringContaining('over the 5242880-byte limit'),
      });
      await expect(producer.upload({ id: 'bad-name', channel: 'C0OUTBOX12', filename: '../etc/passwd', content: 'x' })).rejects.toMatchObject({
        code: ErrorCode.ValidationFailed,
        message: expect.stringContaining('filename'),
      });
      expect(await h.redis.exists(producer.keys.file('too-big'), producer.keys.file('bad-name'), producer.keys.seen('too-big'))).toBe(0);
      expect(await h.sandbox.history('outbox-12')).toEqual([]);
    } finally {
      await producer.close();
    }
  });
});

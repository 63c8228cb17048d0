import crypto from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { type ApiContext, type ApiMethod, invalidArguments, optInt, optJson, optString, SlackApiFailure } from './methods/api-context';
import { SANDBOX_BOT } from './seed';
import type { SlackState } from './state';
import type { SandboxFile } from './types';

/**
 * Slack's file upload flow, which WebClient's `files.uploadV2` drives:
 * files.getUploadURLExternal hands out an upload URL, the client POSTs the
 * bytes there (multipart, field `body`), and files.completeUploadExternal
 * shares the file into a channel or thread as a message.
 */
const MIME: Record<string, string> = {
  md: 'text/markdown',
  txt: 'text/plain',
  json: 'application/json',
  csv: 'text/csv',
  log: 'text/plain',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

function mimetype(name: string): string {
  return MIME[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

export function toWireFile(f: SandboxFile, baseUrl: string): Record<string, unknown> {
  const ext = f.name.includes('.') ? f.name.split('.').pop()!.toLowerCase() : 'binary';
  const url = `${baseUrl}/_sandbox/files/${f.id}/${encodeURIComponent(f.name)}`;
  return {
    id: f.id,
    created: f.created,
    timestamp: f.created,
    name: f.name,
    title: f.title,
    mimetype: mimetype(f.name),
    filetype: ext,
    pretty_type: ext.toUpperCase(),
    user: SANDBOX_BOT.userId,
    user_team: 'T0SANDBOX',
    editable: false,
    size: f.content?.length ?? 0,
    mode: 'hosted',
    is_external: false,
    external_type: '',
    is_public: f.channels.length > 0,
    url_private: url,
    url_private_download: `${url}?download=1`,
    permalink: `${baseUrl}/files/${SANDBOX_BOT.userId}/${f.id}/${encodeURIComponent(f.name)}`,
    channels: [...f.channels],
    groups: [],
    ims: [],
    alt_txt: f.altText,
  };
}

const getUploadURLExternal: ApiMethod = (ctx) => {
  const filename = optString(ctx.args, 'filename');
  const length = optInt(ctx.args, 'length');
  if (!filename) throw invalidArguments('missing required field: filename');
  if (length === undefined || length < 0) throw invalidArguments('missing required field: length');
  const id = `F0${crypto.randomBytes(5).toString('hex').toUpperCase()}`;
  ctx.state.files.set(id, {
    id,
    name: filename,
    title: filename,
    length,
    created: Math.floor(Date.now() / 1000),
    completed: false,
    channels: [],
    altText: optString(ctx.args, 'alt_text'),
  });
  return { upload_url: `${ctx.baseUrl}/_sandbox/upload/${id}`, file_id: id };
};

function completeOne(ctx: ApiContext, entry: unknown): SandboxFile {
  const { id, title } = (entry ?? {}) as { id?: unknown; title?: unknown };
  const file = typeof id === 'string' ? ctx.state.files.get(id) : undefined;
  // Slack refuses to complete a file whose bytes never arrived.
  if (!file || file.content === undefined) throw new SlackApiFailure('file_not_found');
  if (typeof title === 'string' && title !== '') file.title = title;
  file.completed = true;
  return file;
}

const completeUploadExternal: ApiMethod = (ctx) => {
  const list = optJson(ctx.args, 'files', 'invalid_arguments');
  if (!Array.isArray(list) || list.length === 0) throw invalidArguments('missing required field: files');
  const channelRef = optString(ctx.args, 'channel_id') ?? optString(ctx.args, 'channels');
  const channel = channelRef ? ctx.state.resolveChannel(channelRef, false) : undefined;
  if (channelRef && !channel) throw new SlackApiFailure('channel_not_found');
  const threadTs = optString(ctx.args, 'thread_ts');
  if (channel && threadTs && !ctx.state.findMessage(channel.id, threadTs)) throw new SlackApiFailure('thread_not_found');
  const files = list.map((entry) => completeOne(ctx, entry));
  if (channel) {
    for (const f of files) if (!f.channels.includes(channel.id)) f.channels.push(channel.id);
    const parent = threadTs ? ctx.state.findMessage(channel.id, threadTs) : undefined;
    ctx.state.addMessage({
      ts: ctx.state.nextTs(),
      channel: channel.id,
      user: SANDBOX_BOT.userId,
      botId: SANDBOX_BOT.botId,
      appId: SANDBOX_BOT.appId,
      text: optString(ctx.args, 'initial_comment') ?? '',
      threadTs: parent ? (parent.threadTs ?? parent.ts) : undefined,
      files: files.map((f) => toWireFile(f, ctx.baseUrl)),
      reactions: [],
    });
  }
  return { files: files.map((f) => ({ id: f.id, title: f.title })) };
};

const info: ApiMethod = (ctx) => {
  const id = optString(ctx.args, 'file');
  const file = id ? ctx.state.files.get(id) : undefined;
  if (!file || !file.completed) throw new SlackApiFailure('file_not_found');
  const wire = toWireFile(file, ctx.baseUrl);
  const isText = String(wire.mimetype).startsWith('text/') || wire.mimetype === 'application/json';
  return { file: wire, content: isText ? file.content?.toString('utf8') : undefined, comments: [], response_metadata: { next_cursor: '' } };
};

export const fileMethods: Record<string, ApiMethod> = {
  'files.getUploadURLExternal': getUploadURLExternal,
  'files.completeUploadExternal': completeUploadExternal,
  'files.info': info,
};

/** The upload URL (bytes in) and the file URL (bytes out). */
export function createFileRouter(state: SlackState): Router {
  const router = express.Router();
  router.post('/upload/:id', express.raw({ type: () => true, limit: '50mb' }), async (req: Request, res: Response) => {
    const file = state.files.get(String(req.params.id));
    if (!file) {
      res.status(404).type('text/plain').send('file_not_found');
      return;
    }
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const type = req.headers['content-type'] ?? '';
    let content = raw;
    if (type.startsWith('multipart/form-data')) {
      // undici parses multipart for us; WebClient puts the bytes in the field "body".
      const form = await new globalThis.Response(raw, { headers: { 'content-type': type } }).formData();
      const part = form.get('body') ?? form.get('file') ?? [...form.values()][0];
      content = part === undefined || part === null ? Buffer.alloc(0) : typeof part === 'string' ? Buffer.from(part) : Buffer.from(await part.arrayBuffer());
    }
    file.content = content;
    res.status(200).type('text/plain').send(`OK - ${content.length}`);
  });
  router.get('/files/:id/:name', (req: Request, res: Response) => {
    const file = state.files.get(String(req.params.id));
    if (!file?.completed || file.content === undefined) {
      res.status(404).type('text/plain').send('file_not_found');
      return;
    }
    res.type(mimetype(file.name)).send(file.content);
  });
  return router;
}

/**
 * slack/manifest.yml (HTTP mode) and slack/manifest.socket-mode.yml against the
 * documented shape of a Slack app manifest (api.slack.com/reference/manifests:
 * required keys, types, length limits), and against the bot itself: every Web
 * API method the bot calls has its scopes, every event, command and shortcut it
 * listens to is declared, and every event declared has the scope Slack needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

const ROOT = path.join(__dirname, '..', '..');
const load = (f: string) => parse(fs.readFileSync(path.join(ROOT, 'slack', f), 'utf8')) as unknown;

const https = z.string().regex(/^https:\/\/[^\s/]+\/\S*$/, 'must be an https URL');
const scope = z.string().regex(/^[a-z]+(\.[a-z]+)?:[a-z]+(\.[a-z]+)?$|^(commands|incoming-webhook|bot)$/, 'not a scope name');

/** The documented manifest shape (the keys this app uses), with Slack's limits. */
function manifestSchema(socketMode: boolean) {
  const url = socketMode ? z.never().optional() : https;
  return z
    .object({
      _metadata: z.object({ major_version: z.literal(1), minor_version: z.number().int().min(0) }).strict(),
      display_information: z
        .object({
          name: z.string().min(1).max(35),
          description: z.string().max(140).optional(),
          long_description: z.string().min(175).max(4000).optional(),
          background_color: z.string().regex(/^#[0-9a-fA-F]{6}$/).optional(),
        })
        .strict(),
      features: z
        .object({
          bot_user: z.object({ display_name: z.string().min(1).max(80), always_online: z.boolean().optional() }).strict(),
          slash_commands: z
            .array(
              z
                .object({
                  command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/),
                  url,
                  description: z.string().min(1).max(2000),
                  usage_hint: z.string().max(1000).optional(),
                  should_escape: z.boolean().optional(),
                })
                .strict(),
            )
            .max(50),
          shortcuts: z
            .array(
              z
                .object({
                  name: z.string().min(1).max(24),
                  type: z.enum(['message', 'global']),
                  callback_id: z.string().min(1).max(255),
                  description: z.string().min(1).max(150),
                })
                .strict(),
            )
            .max(10),
        })
        .strict(),
      oauth_config: z.object({ scopes: z.object({ bot: z.array(scope).min(1).max(255) }).strict() }).strict(),
      settings: z
        .object({
          event_subscriptions: z.object({ request_url: url, bot_events: z.array(z.string().regex(/^[a-z_.]+$/)).max(100) }).strict(),
          interactivity: z.object({ is_enabled: z.literal(true), request_url: url }).strict(),
          org_deploy_enabled: z.boolean(),
          socket_mode_enabled: z.literal(socketMode),
          token_rotation_enabled: z.boolean(),
        })
        .strict(),
    })
    .strict();
}
type Manifest = z.infer<ReturnType<typeof manifestSchema>>;

/** Bot scopes each Web API method needs (api.slack.com/methods). A method missing here fails the test: add it. */
const METHOD_SCOPES: Record<string, string[]> = {
  'auth.test': [],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.getPermalink': [],
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'conversations.list': ['channels:read', 'groups:read'],
  'conversations.info': ['channels:read', 'groups:read'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
  'users.info': ['users:read'],
  'users.list': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'reactions.get': ['reactions:read'],
  'reactions.add': ['reactions:write'],
  'files.uploadV2': ['files:write'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  // The outbox's label for the POST of the bytes to the URL files.getUploadURLExternal handed out.
  'files.upload': ['files:write'],
  'views.open': [],
  'views.update': [],
};
/** Scopes Slack requires before it delivers an event. */
const EVENT_SCOPES: Record<string, string[]> = {
  reaction_added: ['reactions:read'],
  reaction_removed: ['reactions:read'],
  'message.channels': ['channels:history'],
  'message.groups': ['groups:history'],
  app_mention: ['app_mentions:read'],
  member_joined_channel: ['channels:read'],
};

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    return e.isDirectory() ? sources(rel) : e.name.endsWith('.ts') ? [fs.readFileSync(path.join(ROOT, rel), 'utf8')] : [];
  });
}
const botCode = [...sources('bot'), ...sources('lib'), ...sources('workers')].join('\n');
const found = (re: RegExp) => [...new Set([...botCode.matchAll(re)].map((m) => m[1]!))];

describe('the Slack app manifests', () => {
  const http = load('manifest.yml');
  const socket = load('manifest.socket-mode.yml');

  it('match the documented manifest shape (HTTP mode, Socket Mode)', () => {
    const a = manifestSchema(false).safeParse(http);
    expect(a.success ? [] : a.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    const b = manifestSchema(true).safeParse(socket);
    expect(b.success ? [] : b.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  });

  it('the shape check can fail: a long name, an http URL, an unknown key', () => {
    const m = structuredClone(http) as Manifest & Record<string, unknown>;
    m.display_information.name = 'x'.repeat(36);
    m.settings.interactivity.request_url = 'http://ops-bot.example.com/slack/events';
    m.features = { ...m.features, unknown_feature: true } as Manifest['features'];
    const r = manifestSchema(false).safeParse(m);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['display_information.name', 'features', 'settings.interactivity.request_url'].sort());
  });

  it('are one app: Socket Mode differs only by its URLs and the socket flag', () => {
    const strip = (m: Manifest) => {
      const c = structuredClone(m) as Manifest;
      for (const s of c.features.slash_commands) delete (s as { url?: string }).url;
      delete (c.settings.event_subscriptions as { request_url?: string }).request_url;
      delete (c.settings.interactivity as { request_url?: string }).request_url;
      (c.settings as { socket_mode_enabled: boolean }).socket_mode_enabled = false;
      return c;
    };
    expect(strip(socket as Manifest)).toEqual(strip(http as Manifest));
    const urls = new Set([
      ...(http as Manifest).features.slash_commands.map((s) => s.url),
      (http as Manifest).settings.event_subscriptions.request_url,
      (http as Manifest).settings.interactivity.request_url,
    ]);
    expect([...urls]).toEqual(['https://ops-bot.example.com/slack/events']); // Bolt's one endpoint, bot/app.ts
  });

  it('grant the scopes of every Web API method the bot calls', () => {
    const methods = [...found(/client\.([a-z]+\.[a-zA-Z]+(?:\.[a-zA-Z]+)?)\(/g), ...found(/'((?:chat|conversations|users|usergroups|reactions|files|views)\.[a-zA-Z.]+)'/g)];
    expect(methods).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update', 'conversations.history', 'conversations.list', 'usergroups.list']));
    const unknown = methods.filter((m) => !(m in METHOD_SCOPES));
    expect(unknown).toEqual([]);
    const granted = new Set((http as Manifest).oauth_config.scopes.bot);
    const missing = methods.flatMap((m) => METHOD_SCOPES[m]!.filter((s) => !granted.has(s)).map((s) => `${m} needs ${s}`));
    expect(missing).toEqual([]);
    for (const s of ['chat:write', 'files:write', 'reactions:read', 'channels:history', 'groups:history', 'users:read', 'users:read.email', 'usergroups:read', 'commands']) expect(granted).toContain(s);
  });

  it('declare every command, event and shortcut the bot handles, and the scopes events need', () => {
    const m = http as Manifest;
    const commands = m.features.slash_commands.map((s) => s.command);
    for (const c of found(/\.command\(\s*'([^']+)'/g)) expect(commands).toContain(c);
    const events = m.settings.event_subscriptions.bot_events;
    for (const e of found(/\.event\(\s*'([^']+)'/g)) expect(events).toContain(e);
    expect(events).toContain('reaction_added');
    const callbacks = m.features.shortcuts.map((s) => s.callback_id);
    for (const s of found(/\.shortcut\(\s*'([^']+)'/g)) expect(callbacks).toContain(s);
    expect(m.features.shortcuts).toContainEqual(expect.objectContaining({ type: 'message', callback_id: 'add_to_timeline' }));
    const granted = new Set(m.oauth_config.scopes.bot);
    expect(events.flatMap((e) => (EVENT_SCOPES[e] ?? [`(unknown event ${e})`]).filter((s) => !granted.has(s)))).toEqual([]);
  });
});

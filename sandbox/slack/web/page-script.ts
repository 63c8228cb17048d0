/**
 * The page's script, served at /_sandbox/web/page.js. Plain DOM, no library.
 * Every posted string goes through esc() before mrkdwn formatting adds the
 * few tags it makes, so posted content never becomes markup.
 */
export const PAGE_JS = String.raw`
'use strict';
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const EMOJI = { eyes: '👀', white_check_mark: '✅', pushpin: '📌', '+1': '👍', thumbsup: '👍', fire: '🔥', tada: '🎉', warning: '⚠️', rotating_light: '🚨',
  red_circle: '🔴', large_orange_circle: '🟠', large_yellow_circle: '🟡', large_blue_circle: '🔵', white_circle: '⚪', stethoscope: '🩺', memo: '📝', sleeping: '😴',
  heavy_check_mark: '✔️', x: '❌', hourglass: '⌛', wrench: '🔧', rocket: '🚀', pray: '🙏', raised_hands: '🙌' };
const PICK = ['eyes', 'white_check_mark', '+1', 'pushpin', 'fire', 'tada'];
const COLORS = ['#e01e5a', '#2bac76', '#1264a3', '#e8912d', '#4a154b', '#36c5f0'];
let ws = { channels: [], users: [] }, channel = null, thread = null, user = 'alice', seq = 0;
const els = {}, shown = { list: '', tlist: '' };

const userById = (id) => ws.users.find((u) => u.id === id);
const userName = (id) => (userById(id) || {}).name || id;
const chanName = (id) => (ws.channels.find((c) => c.id === id) || {}).name || id;
const me = () => ws.users.find((u) => u.name === user) || {};
const emoji = (name) => EMOJI[name] || ':' + name + ':';

/** Slack's mrkdwn over already-escaped text. */
function mrkdwn(raw) {
  const keep = [];
  const hold = (html) => '\u0000' + (keep.push(html) - 1) + '\u0000';
  let s = esc(raw);
  s = s.replace(/\x60\x60\x60\n?([\s\S]*?)\x60\x60\x60/g, (_, code) => hold('<pre>' + code + '</pre>'));
  s = s.replace(/\x60([^\x60\n]+)\x60/g, (_, code) => hold('<code>' + code + '</code>'));
  s = s.replace(/&lt;(.+?)&gt;/g, (all, inner) => {
    const bar = inner.indexOf('|');
    const target = bar < 0 ? inner : inner.slice(0, bar), label = bar < 0 ? '' : inner.slice(bar + 1);
    if (/^@[UW][A-Z0-9]+$/.test(target)) return hold('<span class="mention">@' + esc(userName(target.slice(1))) + '</span>');
    if (/^#C[A-Z0-9]+$/.test(target)) return hold('<span class="mention">#' + (label || esc(chanName(target.slice(1)))) + '</span>');
    if (/^!(here|channel|everyone)$/.test(target)) return hold('<span class="mention special">@' + target.slice(1) + '</span>');
    if (/^!subteam\^/.test(target)) return hold('<span class="mention">' + (label || '@group') + '</span>');
    if (/^!date\^\d+\^/.test(target)) {
      const d = new Date(Number(target.split('^')[1]) * 1000);
      return hold(isNaN(d) ? label : esc(d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })));
    }
    if (/^(https?:\/\/|mailto:)/.test(target)) return hold('<a href="' + target + '" target="_blank" rel="noopener noreferrer">' + (label || target) + '</a>');
    return all;
  });
  s = s.split('\n').map((line) => (line.startsWith('&gt; ') || line === '&gt;' ? '<blockquote>' + line.replace(/^&gt; ?/, '') + '</blockquote>' : line)).join('\n');
  s = s.replace(/(^|[\s(>])\*([^*\n]+)\*(?=$|[\s).,!?:;<])/gm, '$1<b>$2</b>');
  s = s.replace(/(^|[\s(>])_([^_\n]+)_(?=$|[\s).,!?:;<])/gm, '$1<i>$2</i>');
  s = s.replace(/(^|[\s(>])~([^~\n]+)~(?=$|[\s).,!?:;<])/gm, '$1<s>$2</s>');
  s = s.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  s = s.replace(/<\/blockquote>\n/g, '</blockquote>').replace(/\n/g, '<br>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => keep[Number(i)]);
}
const text = (t) => (!t ? '' : t.type === 'mrkdwn' ? mrkdwn(t.text) : esc(t.text).replace(/:([a-z0-9_+-]+):/g, (all, n) => EMOJI[n] || all));
const safeUrl = (u) => (/^(https?:\/\/|\/)/.test(String(u || '')) ? String(u) : '');
function localFile(u) {
  try { const x = new URL(u, location.href); return x.pathname.startsWith('/_sandbox/files/') ? x.pathname + x.search : u; } catch { return ''; }
}

/** An interactive element: remembered in els[key] so a click knows what to send. */
function element(e, m, pane, n) {
  const key = pane + n.i++;
  if (e.type === 'button') {
    els[key] = { ts: m.ts, action_id: e.action_id, confirm: e.confirm, url: e.url };
    return '<button class="btn ' + esc(e.style || '') + '" data-el="' + key + '">' + text(e.text) + '</button>';
  }
  if (e.type === 'static_select') {
    els[key] = { ts: m.ts, action_id: e.action_id, confirm: e.confirm };
    const opts = (e.options || []).concat(...(e.option_groups || []).map((g) => g.options || []));
    return '<select class="sel" data-el="' + key + '"><option value="" selected disabled>' + text(e.placeholder || { type: 'plain_text', text: 'Select' }) + '</option>' +
      opts.map((o) => '<option value="' + esc(o.value) + '">' + text(o.text) + '</option>').join('') + '</select>';
  }
  if (e.type === 'image') return '<img alt="' + esc(e.alt_text) + '" src="' + esc(safeUrl(e.image_url)) + '">';
  if (e.type === 'mrkdwn' || e.type === 'plain_text') return '<span>' + text(e) + '</span>';
  return '<span class="ctx">[' + esc(e.type) + ']</span>';
}
function richText(b) {
  const walk = (x) => (x.text != null ? x.text : x.type === 'user' ? '<@' + x.user_id + '>' : x.type === 'link' ? x.url : (x.elements || []).map(walk).join(''));
  return '<div>' + mrkdwn((b.elements || []).map(walk).join('\n')) + '</div>';
}
function blocks(list, m, pane, n) {
  return (list || []).map((b) => {
    const el = (e) => element(e, m, pane, n);
    switch (b.type) {
      case 'header': return '<div class="hdr">' + text(b.text) + '</div>';
      case 'divider': return '<hr>';
      case 'context': return '<div class="ctx">' + (b.elements || []).map(el).join('') + '</div>';
      case 'actions': return '<div class="actions">' + (b.elements || []).map(el).join('') + '</div>';
      case 'image': return '<div class="img-block">' + (b.title ? '<div class="img-title">' + text(b.title) + '</div>' : '') + '<img alt="' + esc(b.alt_text) + '" src="' + esc(safeUrl(b.image_url)) + '"></div>';
      case 'section': return '<div class="section"><div class="main">' + text(b.text) +
        (b.fields ? '<div class="fields">' + b.fields.map((f) => '<div>' + text(f) + '</div>').join('') + '</div>' : '') + '</div>' + (b.accessory ? el(b.accessory) : '') + '</div>';
      case 'rich_text': return richText(b);
      default: return '<div class="ctx">[' + esc(b.type) + ' block]</div>';
    }
  }).join('');
}
function files(list) {
  return (list || []).map((f) => {
    const url = esc(localFile(f.url_private));
    if (String(f.mimetype || '').startsWith('image/')) return '<a href="' + url + '" target="_blank"><img class="preview" alt="' + esc(f.title || f.name) + '" src="' + url + '"></a>';
    return '<a class="file" href="' + url + '" target="_blank"><span class="kind">' + esc(f.pretty_type || 'FILE') + '</span><span><b>' + esc(f.title || f.name) + '</b><br><span class="ctx">' + esc(f.name) + ' · ' + esc(f.size) + ' bytes</span></span></a>';
  }).join('');
}
function avatar(m, eph) {
  const bot = m.bot_id || eph;
  const name = bot ? 'opsbot' : userName(m.user);
  const color = bot ? '#4a154b' : COLORS[[...name].reduce((a, c) => a + c.charCodeAt(0), 0) % COLORS.length];
  return '<div class="avatar" data-color="' + color + '">' + esc(name[0].toUpperCase()) + '</div>';
}
function message(m, pane, n) {
  const eph = m.eph;
  const who = m.bot_id || eph ? 'opsbot' : userName(m.user);
  const time = new Date(Number(m.ts) * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  let body = m.blocks && m.blocks.length ? blocks(m.blocks, m, pane, n) : '<div>' + mrkdwn(m.text) + '</div>';
  body += (m.attachments || []).map((a) => '<div class="att">' + (a.blocks ? blocks(a.blocks, m, pane, n) : mrkdwn(a.text || a.fallback || '')) + '</div>').join('');
  const rx = (m.reactions || []).map((r) => '<button class="rx' + (r.users.includes(me().id) ? ' mine' : '') + '" data-react="' + esc(r.name) + '" data-ts="' + esc(m.ts) + '" title="' + esc(r.users.map(userName).join(', ')) + '">' + esc(emoji(r.name)) + ' ' + r.count + '</button>').join('');
  const replies = pane === 'm' && m.reply_count ? '<button class="replies" data-thread="' + esc(m.ts) + '">' + m.reply_count + ' repl' + (m.reply_count === 1 ? 'y' : 'ies') + '</button>' : '';
  const tools = eph ? '' : '<div class="tools"><button data-pick="' + esc(m.ts) + '" title="Add reaction">☺+</button>' + (pane === 'm' ? '<button data-thread="' + esc(m.ts) + '" title="Reply in thread">💬</button>' : '') + '</div>';
  return '<div class="msg' + (eph ? ' eph' : '') + '" data-ts="' + esc(m.ts) + '">' + avatar(m, eph) + '<div class="body">' +
    (eph ? '<div class="note">👁 Only visible to you</div>' : '') +
    '<span class="who">' + esc(who) + '</span>' + (m.bot_id || eph ? '<span class="app">APP</span>' : '') + '<span class="ts">' + esc(time) + '</span>' +
    (m.edited ? ' <span class="edited">(edited)</span>' : '') + body + '<div class="files">' + files(m.files) + '</div>' +
    (rx ? '<div class="reactions">' + rx + '</div>' : '') + replies + '</div>' + tools + '</div>';
}
/** Replaces a pane's HTML only when it changed, so an open select or a hover survives a refresh. */
function paint(id, html) {
  if (shown[id] === html) return;
  const list = document.getElementById(id), atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  list.innerHTML = html;
  shown[id] = html;
  list.querySelectorAll('.avatar').forEach((a) => { a.style.background = a.dataset.color; });
  if (atEnd) list.scrollTop = list.scrollHeight;
}
function render(items, pane) {
  for (const k of Object.keys(els)) if (k.startsWith(pane)) delete els[k];
  const n = { i: 0 };
  if (!items.length) return '<div class="empty">No messages yet.</div>';
  return items.map((m, i) => message(m, pane, n) +
    (pane === 't' && i === 0 && items.length > 1 ? '<div class="divider-count">' + (items.length - 1) + ' repl' + (items.length === 2 ? 'y' : 'ies') + '</div>' : '')).join('');
}
const merge = (view) => view.messages.map((m) => Object.assign({}, m, { eph: false }))
  .concat(view.ephemeral.map((e) => Object.assign({}, e, { eph: true }))).sort((a, b) => Number(a.ts) - Number(b.ts));
async function get(path) { const r = await fetch(path); return r.json(); }
async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}
function say(msg, bad) { const s = $('#status'); s.textContent = msg; s.classList.toggle('err', !!bad); }

async function refresh() {
  if (!channel) return;
  const mine = ++seq;
  const q = '/_sandbox/messages?channel=' + encodeURIComponent(channel) + '&user=' + encodeURIComponent(user);
  const [main, t] = await Promise.all([get(q), thread ? get(q + '&thread_ts=' + encodeURIComponent(thread)) : null]);
  if (mine !== seq) return; // a newer refresh started: its answer wins
  paint('list', render(merge(main), 'm'));
  const c = ws.channels.find((x) => x.id === channel) || {};
  $('#chan').textContent = '#' + main.channel.name;
  $('#purpose').textContent = c.purpose || '';
  if (t) paint('tlist', render(merge(t), 't'));
  location.hash = 'user=' + user + '&channel=' + channel + (thread ? '&thread=' + thread : '');
}
let pending = null;
const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh().catch((e) => say('could not refresh: ' + e.message, true)); }, 30); };

function pick(id) {
  channel = id; thread = null; $('#thread').classList.remove('open'); shown.list = '';
  document.querySelectorAll('.chan').forEach((a) => a.classList.toggle('on', a.dataset.id === id));
  soon();
}
function openThread(ts) { thread = ts; shown.tlist = ''; $('#thread').classList.add('open'); $('#tlist').innerHTML = ''; soon(); }
function showUser() {
  const u = me();
  $('#role').textContent = u.title || 'member';
  $('#role').className = 'role ' + esc(u.title || '');
  $('#input').placeholder = 'Message #' + chanName(channel) + ' as ' + user + ' — or /ops help';
}

/** Slack's confirm dialog, in the page: resolves true on confirm, false on deny or Escape. */
function confirmDialog(c) {
  return new Promise((resolve) => {
    const bg = document.createElement('div');
    bg.className = 'modal-bg';
    bg.innerHTML = '<div class="modal" role="dialog" aria-modal="true"><h3>' + text(c.title || { type: 'plain_text', text: 'Are you sure?' }) + '</h3><div class="text">' + text(c.text) +
      '</div><div class="row"><button class="btn deny">' + text(c.deny || { type: 'plain_text', text: 'Cancel' }) + '</button><button class="btn ' + (c.style === 'danger' ? 'danger' : 'primary') + ' confirm">' +
      text(c.confirm || { type: 'plain_text', text: 'Yes' }) + '</button></div></div>';
    const done = (ok) => { bg.remove(); document.removeEventListener('keydown', key); resolve(ok); };
    const key = (ev) => { if (ev.key === 'Escape') done(false); };
    bg.addEventListener('click', (ev) => { if (ev.target === bg || ev.target.closest('.deny')) done(false); else if (ev.target.closest('.confirm')) done(true); });
    document.addEventListener('keydown', key);
    document.body.appendChild(bg);
    bg.querySelector('.confirm').focus();
  });
}
async function act(key, value) {
  const e = els[key];
  if (!e) return;
  if (e.confirm && !(await confirmDialog(e.confirm))) { say('not sent: you chose ' + ((e.confirm.deny || {}).text || 'Cancel')); return; }
  if (e.url) window.open(e.url, '_blank', 'noopener');
  const r = await post('/_sandbox/click', { user, channel, ts: e.ts, action_id: e.action_id, value });
  say(r.ok ? 'clicked ' + e.action_id + ' as ' + user + ': the app answered ' + r.status : 'click failed: ' + (r.reason || r.error), !r.ok);
}
async function react(ts, name) {
  const r = await post('/_sandbox/react', { user, channel, ts, name });
  say(r.ok ? user + ' reacted :' + name + ':' : 'reaction failed: ' + (r.reason || r.error), !r.ok);
}
function picker(anchor, ts) {
  document.querySelectorAll('.picker').forEach((p) => p.remove());
  const p = document.createElement('div');
  p.className = 'picker';
  p.innerHTML = PICK.map((n) => '<button data-emoji="' + n + '" data-ts="' + esc(ts) + '" title=":' + n + ':">' + EMOJI[n] + '</button>').join('');
  anchor.closest('.msg').appendChild(p);
}
/** The composer: "/cmd args" is a slash command, anything else a message (into the thread for the thread's box). */
async function send(box, threadTs) {
  const raw = box.value.trim();
  if (!raw) return;
  let r;
  if (/^\/[\w-]+(\s|$)/.test(raw) && !threadTs) {
    const [command, ...rest] = raw.split(/\s+/);
    r = await post('/_sandbox/command', { user, channel, command, text: rest.join(' ') });
    say(r.ok ? command + ' as ' + user + ': the app answered ' + r.status : command + ' failed: ' + (r.reason || r.error), !r.ok);
  } else {
    r = await post('/_sandbox/post', Object.assign({ user, channel, text: raw }, threadTs ? { thread_ts: threadTs } : {}));
    say(r.ok ? 'posted as ' + user + (r.event && r.event.error ? ' (the app did not get the event: ' + r.event.reason + ')' : '') : 'not posted: ' + (r.reason || r.error), !r.ok);
  }
  if (r.ok) box.value = '';
}

document.addEventListener('click', (ev) => {
  const t = ev.target.closest('button, a, .chan');
  if (!t) { document.querySelectorAll('.picker').forEach((p) => p.remove()); return; }
  const d = t.dataset;
  if (d.id) pick(d.id);
  else if (d.thread) openThread(d.thread);
  else if (t.id === 'close') { thread = null; $('#thread').classList.remove('open'); soon(); }
  else if (d.el && t.tagName === 'BUTTON') act(d.el);
  else if (d.react) react(d.ts, d.react);
  else if (d.pick) picker(t, d.pick);
  else if (d.emoji) { document.querySelectorAll('.picker').forEach((p) => p.remove()); react(d.ts, d.emoji); }
});
document.addEventListener('change', (ev) => {
  const t = ev.target;
  if (t.id === 'user') { user = t.value; shown.list = shown.tlist = ''; showUser(); soon(); }
  else if (t.dataset.el && t.tagName === 'SELECT') { const v = t.value; t.selectedIndex = 0; act(t.dataset.el, v); }
});
for (const [form, box, inThread] of [['#cmd', '#input', false], ['#reply', '#rinput', true]]) {
  $(form).addEventListener('submit', (ev) => { ev.preventDefault(); send($(box), inThread ? thread : undefined); });
  $(box).addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); send($(box), inThread ? thread : undefined); } });
}

function live() {
  const es = new EventSource('/_sandbox/events-stream');
  es.addEventListener('hello', () => { $('#live').className = 'live'; $('#live').innerHTML = '<b>●</b> live'; soon(); });
  es.addEventListener('change', soon);
  es.onerror = () => { $('#live').className = 'live off'; $('#live').innerHTML = '<b>●</b> reconnecting…'; };
}
(async () => {
  ws = await get('/_sandbox/workspace');
  const people = ws.users.filter((u) => !u.isBot);
  $('#user').innerHTML = people.map((u) => '<option value="' + esc(u.name) + '">' + esc(u.name) + ' — ' + esc(u.realName) + '</option>').join('');
  $('#chans').innerHTML = ws.channels.map((c) => '<button class="chan" data-id="' + esc(c.id) + '"># ' + esc(c.name) + '</button>').join('');
  const h = new URLSearchParams(location.hash.slice(1));
  if (people.some((u) => u.name === h.get('user'))) user = h.get('user'); else user = people.length ? people[0].name : 'alice';
  $('#user').value = user;
  pick((ws.channels.find((c) => c.id === h.get('channel')) || ws.channels.find((c) => c.name === 'ops-critical') || ws.channels[0]).id);
  showUser();
  if (h.get('thread')) openThread(h.get('thread'));
  live();
  // Events drive the page; this slow poll only covers a dropped stream.
  setInterval(soon, 10000);
})();
`;

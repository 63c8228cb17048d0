/**
 * The sandbox's web page: channels, threads and Block Kit, a box to type
 * `/ops ...` as a chosen person, and buttons that click as that person. One
 * static page over the /_sandbox endpoints; all text is escaped before any
 * mrkdwn formatting is applied, so posted content never becomes markup.
 */
const STYLE = `
body{margin:0;font:14px/1.4 system-ui,sans-serif;display:flex;height:100vh;color:#1d1c1d}
nav{width:210px;background:#3f0e40;color:#fff;padding:12px;box-sizing:border-box;overflow:auto}
nav h1{font-size:16px;margin:0 0 12px}nav a{display:block;color:#cfc3cf;padding:3px 6px;border-radius:4px;cursor:pointer}
nav a.on{background:#1164a3;color:#fff}nav select{width:100%;margin:4px 0 14px}
main{flex:1;display:flex;flex-direction:column;min-width:0}#thread{width:380px;border-left:1px solid #ddd;display:none;flex-direction:column}
header{padding:10px 16px;border-bottom:1px solid #ddd;font-weight:700}.list{flex:1;overflow:auto;padding:8px 16px}
.msg{padding:6px 0;border-bottom:1px solid #f3f3f3}.who{font-weight:700}.ts{color:#888;font-size:12px;margin-left:6px}
.eph{background:#f8f8ff;border-left:3px solid #1264a3;padding-left:8px}.eph .note{color:#666;font-size:12px}
.hdr{font-size:17px;font-weight:700;margin:4px 0}.ctx{color:#666;font-size:12px}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px}
button.b{margin:4px 6px 4px 0;padding:4px 12px;border:1px solid #bbb;border-radius:4px;background:#fff;cursor:pointer}
button.primary{background:#007a5a;color:#fff;border-color:#007a5a}button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.replies{color:#1264a3;cursor:pointer;font-size:12px}code{background:#f4f4f4;padding:0 3px}hr{border:0;border-top:1px solid #ddd}
form{display:flex;padding:10px 16px;border-top:1px solid #ddd;gap:8px}form input{flex:1;padding:8px}#status{padding:0 16px 8px;color:#666;font-size:12px}
.edited{color:#888;font-size:11px}.files a{display:inline-block;margin-top:4px}
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
let ws = { channels: [], users: [] }, channel = null, thread = null, user = 'alice';
const userName = (id) => (ws.users.find((u) => u.id === id) || {}).name || id;
function mrkdwn(raw) {
  let s = esc(raw);
  s = s.replace(/&lt;@([A-Z0-9]+)&gt;/g, (_, id) => '<b>@' + esc(userName(id)) + '</b>');
  s = s.replace(/&lt;#([A-Z0-9]+)(\\|[^&]*)?&gt;/g, (_, id) => '<b>#' + esc((ws.channels.find((c) => c.id === id) || {}).name || id) + '</b>');
  s = s.replace(/&lt;(https?:[^|&]+)\\|([^&]+)&gt;/g, '<a href="$1" target="_blank" rel="noopener">$2</a>');
  s = s.replace(/\`([^\`]+)\`/g, '<code>$1</code>').replace(/\\*([^*\\n]+)\\*/g, '<b>$1</b>').replace(/(^|\\s)_([^_\\n]+)_/g, '$1<i>$2</i>');
  return s.replace(/\\n/g, '<br>');
}
const text = (t) => (t ? (t.type === 'mrkdwn' ? mrkdwn(t.text) : esc(t.text)) : '');
function element(e, ts) {
  if (e.type === 'button') return '<button class="b ' + esc(e.style || '') + '" data-ts="' + esc(ts) + '" data-action="' + esc(e.action_id) + '"' +
    (e.confirm ? ' data-confirm="' + esc(((e.confirm.title || {}).text || '') + '\\n\\n' + ((e.confirm.text || {}).text || '')) + '"' : '') + '>' + esc(e.text && e.text.text) + '</button>';
  if (e.type === 'image') return '<img alt="' + esc(e.alt_text) + '" src="' + esc(e.image_url) + '" height="20">';
  if (e.type === 'mrkdwn' || e.type === 'plain_text') return '<span>' + text(e) + '</span>';
  return '<span class="ctx">[' + esc(e.type) + ']</span>';
}
function blocks(list, ts) {
  return (list || []).map((b) => {
    if (b.type === 'header') return '<div class="hdr">' + text(b.text) + '</div>';
    if (b.type === 'divider') return '<hr>';
    if (b.type === 'context') return '<div class="ctx">' + (b.elements || []).map((e) => element(e, ts)).join(' ') + '</div>';
    if (b.type === 'actions') return '<div>' + (b.elements || []).map((e) => element(e, ts)).join('') + '</div>';
    if (b.type === 'image') return '<img alt="' + esc(b.alt_text) + '" src="' + esc(b.image_url) + '" style="max-width:300px">';
    if (b.type === 'section') return '<div>' + text(b.text) + (b.fields ? '<div class="fields">' + b.fields.map((f) => '<div>' + text(f) + '</div>').join('') + '</div>' : '') + (b.accessory ? element(b.accessory, ts) : '') + '</div>';
    return '<div class="ctx">[' + esc(b.type) + ' block]</div>';
  }).join('');
}
function message(m, inThread, eph) {
  const body = m.blocks && m.blocks.length ? blocks(m.blocks, m.ts) : '<div>' + mrkdwn(m.text) + '</div>';
  const files = (m.files || []).map((f) => '<a href="' + esc(f.url_private) + '" target="_blank">📎 ' + esc(f.title || f.name) + '</a>').join(' ');
  const replies = !inThread && m.reply_count ? '<div class="replies" data-thread="' + esc(m.ts) + '">' + m.reply_count + ' repl' + (m.reply_count === 1 ? 'y' : 'ies') + '</div>' : '';
  // Ephemeral messages come from the app; their user is the one who sees them.
  const who = m.bot_id || eph ? 'opsbot' : userName(m.user);
  return '<div class="msg' + (eph ? ' eph' : '') + '"><span class="who">' + esc(who) + '</span><span class="ts">' + new Date(Number(m.ts) * 1000).toLocaleTimeString() + '</span>' +
    (m.edited ? ' <span class="edited">(edited)</span>' : '') + (eph ? ' <span class="note">Only visible to you</span>' : '') + body + '<div class="files">' + files + '</div>' + replies + '</div>';
}
async function get(path) { return (await fetch(path)).json(); }
async function refresh() {
  if (!channel) return;
  const q = '/_sandbox/messages?channel=' + channel + '&user=' + user;
  const main = await get(q);
  const eph = main.ephemeral.map((e) => ({ ...e, eph: true }));
  const all = main.messages.map((m) => ({ ...m, eph: false })).concat(eph).sort((a, b) => Number(a.ts) - Number(b.ts));
  const list = $('#list'), atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 20;
  list.innerHTML = all.map((m) => message(m, false, m.eph)).join('');
  if (atEnd) list.scrollTop = list.scrollHeight;
  $('#chan').textContent = '#' + main.channel.name;
  if (thread) {
    const t = await get(q + '&thread_ts=' + thread);
    const items = t.messages.map((m) => ({ ...m, eph: false })).concat(t.ephemeral.map((e) => ({ ...e, eph: true }))).sort((a, b) => Number(a.ts) - Number(b.ts));
    $('#tlist').innerHTML = items.map((m) => message(m, true, m.eph)).join('');
  }
}
function pick(id) {
  channel = id; thread = null; $('#thread').style.display = 'none';
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('on', a.dataset.id === id));
  refresh();
}
document.addEventListener('click', async (ev) => {
  const el = ev.target;
  if (el.dataset && el.dataset.id) pick(el.dataset.id);
  if (el.dataset && el.dataset.thread) { thread = el.dataset.thread; $('#thread').style.display = 'flex'; refresh(); }
  if (el.id === 'close') { thread = null; $('#thread').style.display = 'none'; }
  if (el.dataset && el.dataset.action) {
    // Slack asks before sending a click whose button carries a confirm dialog.
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
    const r = await fetch('/_sandbox/click', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user, channel, ts: el.dataset.ts, action_id: el.dataset.action }) }).then((x) => x.json());
    $('#status').textContent = r.ok ? 'clicked ' + el.dataset.action + ': bot answered ' + r.status : 'click failed: ' + (r.reason || r.error);
    setTimeout(refresh, 300);
  }
});
$('#cmd').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const raw = $('#input').value.trim(); if (!raw.startsWith('/')) { $('#status').textContent = 'type a slash command, e.g. /ops help'; return; }
  const [command, ...rest] = raw.split(' ');
  const r = await fetch('/_sandbox/command', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, channel, command, text: rest.join(' ') }) }).then((x) => x.json());
  $('#status').textContent = r.ok ? command + ': bot answered ' + r.status : command + ' failed: ' + (r.reason || r.error);
  $('#input').value = ''; setTimeout(refresh, 300);
});
$('#user').addEventListener('change', (ev) => { user = ev.target.value; refresh(); });
(async () => {
  ws = await get('/_sandbox/workspace');
  $('#user').innerHTML = ws.users.filter((u) => !u.isBot).map((u) => '<option value="' + esc(u.name) + '">' + esc(u.name) + (u.title ? ' (' + esc(u.title) + ')' : '') + '</option>').join('');
  user = $('#user').value;
  $('#chans').innerHTML = ws.channels.map((c) => '<a data-id="' + esc(c.id) + '"># ' + esc(c.name) + '</a>').join('');
  pick((ws.channels.find((c) => c.name === 'ops-critical') || ws.channels[0]).id);
  setInterval(refresh, 1500);
})();
`;

export function renderWebPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Slack sandbox</title><style>${STYLE}</style></head><body>
<nav><h1>Slack sandbox</h1><label>Acting as<select id="user"></select></label><div id="chans"></div></nav>
<main><header id="chan"></header><div class="list" id="list"></div>
<form id="cmd"><input id="input" placeholder="/ops help" autocomplete="off"><button>Send</button></form><div id="status"></div></main>
<section id="thread"><header>Thread <a id="close" style="float:right;cursor:pointer">✕</a></header><div class="list" id="tlist"></div></section>
<script>${SCRIPT}</script></body></html>`;
}

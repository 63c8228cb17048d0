/**
 * The sandbox's web page: channels, threads and Block Kit as Slack shows them,
 * a composer that posts as the chosen person or runs `/ops ...`, buttons and
 * selects that click as that person, reactions, files, and live updates over
 * server-sent events. The script and stylesheet are in web/ and served by the
 * sandbox itself: the page loads nothing from elsewhere.
 */
export { PAGE_CSS } from './web/page-style';
export { PAGE_JS } from './web/page-script';

/** Only the sandbox's own script, styles and connections; images may come from where a message points. */
export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function renderWebPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slack sandbox</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/_sandbox/web/page.css"></head><body>
<nav><div class="team">Sandbox</div>
<div class="me"><label for="user">Acting as</label><select id="user"></select><span id="role" class="role"></span></div>
<div class="section-title">Channels</div><div id="chans"></div><div id="live" class="live off"><b>●</b> connecting…</div></nav>
<main><div class="pane-head"><h2 id="chan"></h2><span class="sub" id="purpose"></span></div><div class="list" id="list"></div>
<form id="cmd" class="composer"><textarea id="input" rows="2" autocomplete="off"></textarea><button type="submit">Send</button></form><div id="status" class="status"></div></main>
<section id="thread"><div class="pane-head"><h2>Thread</h2><button id="close" class="x" title="Close">✕</button></div><div class="list" id="tlist"></div>
<form id="reply" class="composer"><textarea id="rinput" rows="2" placeholder="Reply…" autocomplete="off"></textarea><button type="submit">Reply</button></form></section>
<script src="/_sandbox/web/page.js"></script></body></html>`;
}

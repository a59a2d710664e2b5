import { Html, html } from '../shared/html.ts';

const css = `
:root { color-scheme: light dark; --fg:#1d2330; --muted:#667085; --line:#d9dee7; --bg:#fff; --panel:#f6f7f9; --accent:#b42318; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6e8ec; --muted:#98a2b3; --line:#344054; --bg:#111418; --panel:#1a1f26; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header.top { display:flex; flex-wrap:wrap; gap:6px 18px; align-items:center; padding:10px 18px; border-bottom:1px solid var(--line); background:var(--panel); }
header.top strong { letter-spacing:.04em; }
header.top a { color:inherit; text-decoration:none; opacity:.8; } header.top a:hover { opacity:1; text-decoration:underline; }
main { padding:18px; max-width:1200px; } @media (max-width:640px) { main { padding:12px; } }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; } td code { word-break:break-all; } td.pass, td.warn, td.fail { white-space:nowrap; } td.num { text-align:right; font-variant-numeric:tabular-nums; }
a { color:#1570ef; } .muted { color:var(--muted); } code, pre { font:12px/1.5 ui-monospace, monospace; }
pre { background:var(--panel); padding:12px; overflow:auto; border:1px solid var(--line); white-space:pre-wrap; word-break:break-all; }
.pass { color:#067647; } .warn { color:#b54708; } .fail { color:var(--accent); font-weight:600; }
iframe { width:100%; height:70vh; border:1px solid var(--line); background:#fff; }
nav.tabs a { margin-right:14px; } .empty { padding:30px; text-align:center; color:var(--muted); }
form.filters { display:flex; flex-wrap:wrap; gap:8px; margin:12px 0; } form.filters input[type=search] { flex:1 1 16rem; min-width:0; }
input, select, button { font:inherit; padding:5px 8px; } form.inline { display:inline; } button.link { border:0; background:none; color:#1570ef; cursor:pointer; padding:0; }
.scroll { overflow-x:auto; }
`;

/** The admin pages' frame: one nav, so the preview, inbox, API and dashboard link to each other. */
export function page(title: string, body: Html, options: { script?: string } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Depesche</title><style>${new Html(css)}</style></head>
<body><header class="top"><strong>DEPESCHE</strong><a href="/">Preview</a><a href="/inbox">Inbox</a><a href="/campaigns">Campaigns</a><a href="/queues">Queues</a><a href="/metrics">Metrics</a></header>
<main>${body}</main>${options.script ? new Html(`<script>${options.script}</script>`) : ''}</body></html>`.value;
}

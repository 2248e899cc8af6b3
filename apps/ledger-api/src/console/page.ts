/** The console's one HTML page and its style sheet; the scripts are the compiled apps/ledger-console. */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ledger audit console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
<a class="skip" href="#main">Skip to the page</a>
<header>
<h1>SMETS1 certificate ledger <span>audit console</span></h1>
<nav id="nav" aria-label="Pages"></nav>
<div id="who"></div>
</header>
<main id="main" tabindex="-1"><p>Loading the console…</p><noscript>The console needs JavaScript.</noscript></main>
<script type="module" src="/console/js/ui/main.js"></script>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #5b6470; --line: #d5dae1; --bg: #f6f7f9; --accent: #0b5cad; --ok: #1d8a3a; --bad: #c62828; --future: #2f6fdf; --skip: #8a8f98; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px; color: var(--fg); }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
header { display: flex; align-items: center; gap: 24px; padding: 8px 20px; background: #17324d; color: #fff; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; } header h1 span { font-weight: 400; opacity: .8; }
header a, header button.link { color: #fff; }
nav ul { display: flex; gap: 4px; list-style: none; margin: 0; padding: 0; }
nav a { display: block; padding: 6px 12px; border-radius: 4px; text-decoration: none; }
nav a[aria-current="page"] { background: rgba(255,255,255,.18); font-weight: 600; }
#who { margin-left: auto; }
button.link { background: none; border: 0; text-decoration: underline; cursor: pointer; font: inherit; }
main { padding: 16px 24px 48px; max-width: 1400px; }
main:focus { outline: none; }
h2 { margin: 4px 0 12px; font-size: 22px; } h2:focus { outline: none; }
h3 { margin: 22px 0 8px; font-size: 17px; } h4 { margin: 8px 0; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 12px; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; color: var(--muted); }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0 12px; background: #fff; padding: 8px 12px; border: 1px solid var(--line); }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.4fr); gap: 24px; align-items: start; }
.cols.even { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
details > summary { cursor: pointer; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.future { background: var(--future); } .badge.skip { background: var(--skip); }
.error { color: var(--bad); font-weight: 600; } .error:empty { display: none; }
.finding { background: #fdecea; border-left: 4px solid var(--bad); padding: 6px 10px; }
.same { background: #e8f5e9; border-left: 4px solid var(--ok); padding: 6px 10px; }
.note { color: var(--muted); }
form.finder { display: grid; grid-template-columns: 230px 360px max-content; justify-content: start; gap: 4px 10px; align-items: center; margin: 0 0 14px; }
form.finder small, form.finder .error { grid-column: 2 / 4; color: var(--muted); margin: 0; } form.finder .error { color: var(--bad); }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #9aa3ae; border-radius: 4px; background: #fff; }
button, a.button { font: inherit; padding: 5px 14px; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button:disabled { opacity: .45; cursor: default; }
form.sign-in { max-width: 520px; display: grid; gap: 8px; background: #fff; padding: 16px 20px; border: 1px solid var(--line); }
form.inline { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
form.filters { display: flex; gap: 10px; align-items: end; flex-wrap: wrap; background: #fff; padding: 10px 12px; border: 1px solid var(--line); }
label.field { display: grid; gap: 2px; font-size: 13px; color: var(--muted); } label.field small { font-size: 11px; }
.buttons { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
.pager { display: flex; gap: 8px; align-items: center; }
.count { color: var(--muted); }
.scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); }
svg text { font-size: 12px; fill: var(--fg); }
svg .row-heading { font-weight: 700; } svg .tick { stroke: #e3e6ea; } svg .tick-label { fill: var(--muted); }
svg .row-rule { stroke: #f0f2f4; } svg .band-label { font-size: 11px; fill: #111; pointer-events: none; }
svg .band rect { stroke: rgba(0,0,0,.35); } svg .band.pending rect { stroke-dasharray: 4 3; stroke: #000; fill-opacity: .35; }
svg .interval.mismatch rect { fill: var(--bad); } svg .interval.disagree rect { fill: #e08a00; }
svg .now { stroke: #000; stroke-dasharray: 3 3; } svg .as-of { stroke: var(--future); stroke-width: 2; } svg .as-of-label { fill: var(--future); }
svg a.mark circle { stroke: #fff; stroke-width: 1.5; } svg a.mark:focus circle { stroke: #f0a500; stroke-width: 3; }
svg .bar { fill: var(--accent); } svg .bar.ok { fill: var(--ok); } svg .bar.bad { fill: var(--bad); } svg .bar.skip { fill: var(--skip); }
svg.bars { background: #fff; border: 1px solid var(--line); }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; font-size: 13px; color: var(--muted); }
.swatch { display: inline-block; width: 18px; height: 10px; margin-right: 5px; vertical-align: middle; border: 1px solid rgba(0,0,0,.3); }
.swatch.band { background: hsl(200, 55%, 62%); } .swatch.pending { border-style: dashed; background: hsla(200, 55%, 62%, .35); }
.swatch.mismatch { background: var(--bad); } .swatch.disagree { background: #e08a00; } .swatch.accepted { background: var(--ok); border-radius: 50%; width: 10px; } .swatch.rejected { background: var(--bad); border-radius: 50%; width: 10px; } .swatch.future { background: var(--future); border-radius: 50%; width: 10px; }
ol.checks { padding-left: 0; list-style: none; margin: 0; }
li.check { background: #fff; border: 1px solid var(--line); border-left: 5px solid var(--skip); padding: 6px 10px; margin-bottom: 6px; }
li.check.pass { border-left-color: var(--ok); } li.check.fail { border-left-color: var(--bad); } li.check.changed { box-shadow: 0 0 0 2px #f0a500; }
li.check p { margin: 4px 0; } li.check dl { margin: 4px 0; font-size: 13px; }
ul.repairs { margin: 0; padding-left: 0; list-style: none; font-size: 13px; }
progress { width: 420px; height: 16px; vertical-align: middle; }
.progress { display: flex; gap: 12px; align-items: center; margin: 10px 0; }
input.digest { font-family: ui-monospace, monospace; }
.copy { display: flex; gap: 8px; align-items: center; }
section { min-width: 0; }
`;

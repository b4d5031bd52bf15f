import { betaInterval } from '../learning/betaMath.js';
import type { ContextSummary, ServiceReport, StackReport } from '../metrics/learningReport.js';

/**
 * Server-rendered dashboard pages. No inline script or style (the CSP forbids both): plots are
 * described in a `<script type="application/json">` block that /dashboard/assets/dashboard.js hands
 * to uPlot; sparklines and bars are inline SVG with presentation attributes.
 */

export const ASSETS = '/dashboard/assets';

export function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)} %`);
const short = (hash: string) => hash.slice(0, 12);
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const ATTRIBUTION_COLOURS: Record<string, string> = {
  works: '#2ca02c',
  partial: '#bcbd22',
  weak: '#98df8a',
  no_evidence: '#c7c7c7',
  flaky: '#ff7f0e',
  broken: '#d62728',
};

export function stackPath(c: { tenant: string; language: string; framework: string }): string {
  return `/dashboard/stack/${[c.tenant, c.language, c.framework].map(encodeURIComponent).join('/')}`;
}

/** One chart for the client script: x in Unix seconds, one array per series. */
export interface PlotSpec {
  id: string;
  title: string;
  x: number[];
  series: Array<{ label: string; values: Array<number | null>; color: string; band?: boolean }>;
  /** pairs of series indexes (1-based, as uPlot counts) whose gap is filled: [upper, lower] */
  bands?: Array<[number, number]>;
  percent?: boolean;
  unit?: string;
  bars?: boolean;
}

function layout(title: string, body: string, o: { plots?: PlotSpec[]; nav?: boolean } = {}): string {
  const plots = o.plots?.length
    ? `<script type="application/json" id="pl-plots">${JSON.stringify(o.plots).replace(/</g, '\\u003c')}</script>
<script src="${ASSETS}/uPlot.iife.min.js"></script>
<script src="${ASSETS}/dashboard.js"></script>`
    : '';
  const nav =
    o.nav === false
      ? ''
      : `<nav><a href="/dashboard">Stacks</a> · <a href="/dashboard/service">Service</a>
<form method="post" action="/dashboard/logout" class="logout"><button type="submit">Log out</button></form></nav>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)} · pipeline-learner</title>
<link rel="stylesheet" href="${ASSETS}/uPlot.min.css"><link rel="stylesheet" href="${ASSETS}/dashboard.css">
</head><body><header><h1>${esc(title)}</h1>${nav}</header><main>
${body}
</main>${plots}</body></html>`;
}

function sparkline(values: Array<number | null>, width = 120, height = 24): string {
  const pts = values
    .map((v, i) => (v === null ? null : [(i / Math.max(1, values.length - 1)) * width, height - 2 - v * (height - 4)]))
    .filter((p): p is number[] => p !== null);
  if (pts.length === 0) return '<span class="muted">no runs</span>';
  const d = pts.map(([x, y]) => `${x!.toFixed(1)},${y!.toFixed(1)}`).join(' ');
  const dots = pts.map(([x, y]) => `<circle cx="${x!.toFixed(1)}" cy="${y!.toFixed(1)}" r="1.5"/>`).join('');
  return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="daily success rate"><polyline points="${d}" fill="none" stroke="#1f77b4" stroke-width="1.5"/><g fill="#1f77b4">${dots}</g></svg>`;
}

function intervalBar(low: number, mean: number, high: number, width = 120): string {
  const x = (v: number) => (v * width).toFixed(1);
  return `<svg class="interval" width="${width}" height="12" viewBox="0 0 ${width} 12" role="img" aria-label="90 % credible interval ${pct(low)} to ${pct(high)}"><rect x="0" y="5" width="${width}" height="2" fill="#eee"/><rect x="${x(low)}" y="3" width="${(Math.max(0.005, high - low) * width).toFixed(1)}" height="6" fill="#9ecae1"/><rect x="${(mean * width - 1).toFixed(1)}" y="1" width="2" height="10" fill="#08519c"/></svg>`;
}

export function loginPage(o: { next: string; error?: string; closed?: boolean }): string {
  const body = o.closed
    ? `<p class="error">The dashboard is closed: set <code>API_TOKEN</code> (then log in with it) or <code>PUBLIC_READ=true</code> on the service.</p>`
    : `${o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : ''}
<form method="post" action="/dashboard/login" class="login">
<input type="hidden" name="next" value="${esc(o.next)}">
<label>API token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form>
<p class="muted">The service's <code>API_TOKEN</code>. Log in sets an HttpOnly, SameSite=Strict cookie for <code>/dashboard</code>; HTTP Basic (any user, the token as password) or <code>Authorization: Bearer</code> work too.</p>`;
  return layout('Log in', body, { nav: false });
}

/** A cross-site navigation arrives without the SameSite=Strict cookie: go again from this site. */
export function sameSiteHop(target: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${esc(target)}"><title>pipeline-learner</title></head><body><p><a href="${esc(target)}">Continue to the dashboard</a></p></body></html>`;
}

export function indexPage(contexts: ContextSummary[]): string {
  const rows = contexts
    .map((c) => {
      const b = c.best;
      return `<tr>
<td><a href="${esc(stackPath(c))}">${esc(c.tenant)} / ${esc(c.language)} / ${esc(c.framework)}</a></td>
<td class="num">${c.runs}</td><td class="num">${c.arms}</td>
<td>${b ? `<code>${esc(short(b.hash))}</code> <span class="muted">${esc(b.source)}</span>` : '<span class="muted">none</span>'}</td>
<td class="num">${b ? pct(b.mean) : '–'}</td>
<td>${b ? `${intervalBar(b.low, b.mean, b.high)} <span class="muted">${pct(b.low)}–${pct(b.high)}</span>` : ''}</td>
<td>${sparkline(c.trend)}</td>
<td class="muted">${c.lastRunAt ? esc(c.lastRunAt.slice(0, 16).replace('T', ' ')) : '–'}</td>
</tr>`;
    })
    .join('\n');
  const body = contexts.length
    ? `<p>${contexts.length} stack${contexts.length === 1 ? '' : 's'}, most runs first. The best arm is the learner's current favourite (posterior mean, 90 % credible interval); the sparkline is its daily success rate over 30 days.</p>
<table class="stacks"><thead><tr><th>Stack (tenant / language / framework)</th><th>Runs</th><th>Arms</th><th>Best arm</th><th>Success</th><th>90 % interval</th><th>Trend</th><th>Last recorded (UTC)</th></tr></thead>
<tbody>${rows}</tbody></table>`
    : '<p>No learning contexts yet: the learner records a stack when its first pipeline runs.</p>';
  return layout('Stacks', body);
}

export function missingStackPage(c: { tenant: string; language: string; framework: string }): string {
  return layout(
    'No such stack',
    `<p class="error">No learning context ${esc(c.tenant)} / ${esc(c.language)} / ${esc(c.framework)}.</p><p><a href="/dashboard">All stacks</a></p>`,
  );
}

const dayToUnix = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** Per arm and day: success rate with a 90 % credible band from the runs up to that day, and mean duration. */
export function stackPlots(s: StackReport): PlotSpec[] {
  const x = s.days.map(dayToUnix);
  const arms = s.arms.slice(0, 6);
  const success: PlotSpec = {
    id: 'plot-success',
    title: 'Success rate (90 % credible band, runs to date)',
    x,
    series: [],
    bands: [],
    percent: true,
  };
  const duration: PlotSpec = { id: 'plot-duration', title: 'Mean pipeline duration per day', x, series: [], unit: 's' };
  arms.forEach((a, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const byDay = new Map(a.trend.map((t) => [t.day, t]));
    let runs = 0;
    let ok = 0;
    const mean: Array<number | null> = [];
    const low: Array<number | null> = [];
    const high: Array<number | null> = [];
    for (const d of s.days) {
      const t = byDay.get(d);
      if (t) {
        runs += t.runs;
        ok += t.successes;
      }
      if (runs === 0) {
        mean.push(null);
        low.push(null);
        high.push(null);
        continue;
      }
      const band = betaInterval(1 + ok, 1 + runs - ok, 0.9);
      mean.push((1 + ok) / (2 + runs));
      low.push(band.low);
      high.push(band.high);
    }
    const base = success.series.length + 1;
    success.series.push(
      { label: short(a.hash), values: mean, color },
      { label: `${short(a.hash)} high`, values: high, color, band: true },
      { label: `${short(a.hash)} low`, values: low, color, band: true },
    );
    success.bands!.push([base + 1, base + 2]);
    duration.series.push({
      label: short(a.hash),
      values: s.days.map((d) => byDay.get(d)?.meanDurationS ?? null),
      color,
    });
  });
  return [success, duration];
}

function attributionBar(counts: Record<string, number>, width = 200): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0) return '<span class="muted">no runs</span>';
  let x = 0;
  const rects = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => {
      const w = (n / total) * width;
      const r = `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="14" fill="${ATTRIBUTION_COLOURS[k] ?? '#7f7f7f'}"><title>${esc(k)}: ${n}</title></rect>`;
      x += w;
      return r;
    })
    .join('');
  const legend = Object.entries(counts)
    .map(([k, n]) => `${esc(k)} ${n}`)
    .join(', ');
  return `<svg class="attribution" width="${width}" height="14" viewBox="0 0 ${width} 14" role="img" aria-label="${legend}">${rects}</svg> <span class="muted">${legend}</span>`;
}

export function stackPage(s: StackReport): string {
  const c = s.context;
  const title = `${c.tenant} / ${c.language} / ${c.framework}`;
  const arms = s.arms
    .map(
      (a, i) => `<tr${a.broken ? ' class="broken"' : ''}>
<td><span class="swatch c${i % PALETTE.length}"></span><code>${esc(short(a.hash))}</code></td><td>${esc(a.source)}</td>
<td class="num">${a.runs}</td><td class="num">${pct(a.mean)}</td>
<td>${intervalBar(a.low, a.mean, a.high)} <span class="muted">${pct(a.low)}–${pct(a.high)}</span></td>
<td class="num">${a.meanDurationS === null ? '–' : `${Math.round(a.meanDurationS)} s`}</td>
<td>${attributionBar(a.attribution)}</td>
<td>${[a.broken ? 'broken' : '', a.gated ? 'gated' : '', a.lastEvidence ? esc(a.lastEvidence) : ''].filter(Boolean).join(' · ')}</td>
</tr>`,
    )
    .join('\n');
  const decisions = s.decisions
    .map(
      (
        d,
      ) => `<tr><td class="muted">${esc(d.at.slice(0, 16).replace('T', ' '))}</td><td>${esc(d.policy)}</td><td>${esc(d.kind)}</td>
<td><code>${esc(short(d.chosen))}</code></td><td class="num">${(d.propensity * 100).toFixed(1)} %</td>
<td>${d.probabilities
        .slice(0, 5)
        .map((p) => `<code>${esc(short(p.hash))}</code> ${(p.probability * 100).toFixed(1)} %`)
        .join(
          ', ',
        )}${d.probabilities.length > 5 ? ` <span class="muted">+${d.probabilities.length - 5}</span>` : ''}</td>
<td class="num">${d.reward === null ? '<span class="muted">pending</span>' : d.reward.toFixed(2)}</td></tr>`,
    )
    .join('\n');
  const body = `<p>${c.runs} runs${c.lastRunAt ? `, last ${esc(c.lastRunAt.slice(0, 16).replace('T', ' '))} UTC` : ''}. Arms best first (posterior mean reward); broken arms last.</p>
<section><h2>Arms</h2>
<table class="arms"><thead><tr><th>Configuration</th><th>Source</th><th>Runs</th><th>Success</th><th>90 % interval</th><th>Duration</th><th>Attribution (${s.days.length} days)</th><th>Notes</th></tr></thead>
<tbody>${arms || '<tr><td colspan="8" class="muted">no arms</td></tr>'}</tbody></table></section>
<section><h2>Success rate over time</h2><div class="plot" id="plot-success"></div></section>
<section><h2>Durations</h2><div class="plot" id="plot-duration"></div></section>
<section><h2>Decision log</h2>
<table class="decisions"><thead><tr><th>At (UTC)</th><th>Policy</th><th>Kind</th><th>Chosen</th><th>Its probability</th><th>Probabilities (largest first)</th><th>Reward</th></tr></thead>
<tbody>${decisions || '<tr><td colspan="7" class="muted">no decisions yet</td></tr>'}</tbody></table></section>`;
  return layout(title, body, { plots: stackPlots(s) });
}

export function servicePage(r: ServiceReport): string {
  const intake: PlotSpec = {
    id: 'plot-intake',
    title: 'Webhook deliveries per hour',
    x: r.intake.map((h) => Date.parse(h.hour) / 1000),
    series: [{ label: 'deliveries', values: r.intake.map((h) => h.count), color: PALETTE[0]! }],
    bars: true,
  };
  const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
  const ms = (s: number | null) => (s === null ? '–' : `${(s * 1000).toFixed(1)} ms`);
  const table = (head: string[], rows: string[]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
      rows.join('\n') || `<tr><td colspan="${head.length}" class="muted">none</td></tr>`
    }</tbody></table>`;
  const limited = r.gitlab.filter((g) => g.status === '429').reduce((s, g) => s + g.count, 0);
  const body = `<section><h2>Intake (last 24 h, all processes)</h2><div class="plot" id="plot-intake"></div>
<p>${
    Object.entries(r.intakeByEvent)
      .map(([e, n]) => `${esc(e)}: ${n}`)
      .join(' · ') || '<span class="muted">no deliveries</span>'
  }</p></section>
<section><h2>Acknowledgement (this process)</h2>${table(
    ['Outcome', 'Answers', 'p50', 'p99'],
    r.deliveries.map(
      (d) => `<tr>${td(d.outcome)}${td(d.count, 'num')}${td(ms(d.p50), 'num')}${td(ms(d.p99), 'num')}</tr>`,
    ),
  )}</section>
<section><h2>Queue</h2>${table(
    ['Kind', 'Status', 'Jobs', 'Oldest'],
    r.queue.map(
      (q) =>
        `<tr${q.status === 'dead' ? ' class="broken"' : ''}>${td(q.kind)}${td(q.status)}${td(q.count, 'num')}${td(
          q.oldestAgeS === null ? '–' : `${Math.round(q.oldestAgeS)} s`,
          'num',
        )}</tr>`,
    ),
  )}<p>Dead letters: <strong>${r.deadLetters}</strong></p></section>
<section><h2>GitLab API (this process)</h2>
<p>Rate limit: <strong>${limited}</strong> answers 429, <strong>${Math.round(r.gitlabRetryAfterS)} s</strong> of waits asked for.</p>
${table(
  ['Operation', 'Status', 'Calls'],
  r.gitlab.map(
    (g) =>
      `<tr${g.status === 'ok' ? '' : ' class="broken"'}>${td(g.endpoint)}${td(g.status)}${td(g.count, 'num')}</tr>`,
  ),
)}</section>
<section><h2>Errors (this process)</h2>${table(
    ['Job kind', 'Reason', 'Failed attempts'],
    r.jobFailures.map((f) => `<tr>${td(f.kind)}${td(f.reason)}${td(f.count, 'num')}</tr>`),
  )}</section>`;
  return layout('Service', body, { plots: [intake] });
}

/** The dashboard's own client script: draws every plot described in #pl-plots with uPlot. */
export const DASHBOARD_JS = `'use strict';
(function () {
  var el = document.getElementById('pl-plots');
  if (!el || typeof uPlot === 'undefined') return;
  var plots = JSON.parse(el.textContent);
  plots.forEach(function (p) {
    var host = document.getElementById(p.id);
    if (!host) return;
    var fmt = function (v) {
      if (v == null) return '–';
      return p.percent ? Math.round(v * 100) + ' %' : (Math.round(v * 10) / 10) + (p.unit ? ' ' + p.unit : '');
    };
    var series = [{}].concat(p.series.map(function (s) {
      return {
        label: s.label,
        stroke: s.color,
        width: s.band ? 0.5 : 2,
        dash: s.band ? [4, 4] : undefined,
        spanGaps: true,
        paths: p.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        fill: p.bars ? s.color + '99' : undefined,
        points: { show: !s.band, size: 5 },
        value: function (u, v) { return fmt(v); }
      };
    }));
    var points = 0;
    p.series.forEach(function (s) { if (!s.band) s.values.forEach(function (v) { if (v != null) points++; }); });
    var opts = {
      title: p.title,
      width: Math.max(320, host.clientWidth || 720),
      height: 260,
      series: series,
      bands: (p.bands || []).map(function (b) {
        return { series: b, fill: p.series[b[0] - 1].color + '33' };
      }),
      scales: { y: p.percent ? { range: [0, 1] } : {} },
      axes: [{}, { values: function (u, vals) { return vals.map(fmt); }, size: 60 }]
    };
    var u = new uPlot(opts, [p.x].concat(p.series.map(function (s) { return s.values; })), host);
    // the band edges are drawn, not listed: their legend rows go (CSSOM, which the CSP allows)
    var rows = u.root.querySelectorAll('.u-legend .u-series');
    p.series.forEach(function (s, i) { if (s.band && rows[i + 1]) rows[i + 1].style.display = 'none'; });
    host.setAttribute('data-points', String(points));
  });
})();
`;

export const DASHBOARD_CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;align-items:center;gap:2em;padding:.6em 1.5em;background:#1f2d3d;color:#fff}
header h1{font-size:1.2em;margin:0}header a{color:#cde}nav{display:flex;gap:.6em;align-items:center}
form.logout{display:inline;margin-left:1em}form.logout button{font-size:.85em}
main{padding:1em 1.5em;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0;background:#fff}th,td{padding:.3em .6em;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:middle}
th{background:#f0f0f0;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.broken td{color:#a33}.muted{color:#888}.error{color:#b00;font-weight:600}
code{font:12px ui-monospace,monospace}.plot{background:#fff;padding:.5em;margin:.5em 0;min-height:300px}
svg{vertical-align:middle}form.login{display:flex;gap:1em;align-items:end;margin:1em 0}
form.login input{padding:.3em;min-width:22em}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
${PALETTE.map((c, i) => `.c${i}{background:${c}}`).join('')}
`;

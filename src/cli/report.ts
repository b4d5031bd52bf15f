import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { DataDirLockedError } from '../db/DataDirLock.js';
import { errorMessage, UserFacingError } from '../errors.js';
import { StoreUnavailableError, withDomain } from '../main.js';
import { type ContextSummary, learningReports, type StackReport } from '../metrics/learningReport.js';

export const help = `Usage: pipeline-learner report [--context TENANT/LANGUAGE/FRAMEWORK] [--tenant T] [--json]

What the learner knows, in the terminal: every stack (tenant, language, framework) with its best
configuration, the posterior mean and 90 % credible interval, and a sparkline of its daily success
rate over 30 days; with --context, that stack's configurations (each with its trend, runs, state
and duration) and its latest decisions with the probabilities the policy gave each arm.

It reads the store when it is free (read-only: nothing is written) and, when \`serve\` holds the
embedded store, asks the running service (PUBLIC_URL, else http://127.0.0.1:$PORT) with API_TOKEN.
`;

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value in [0, 1]; a day without runs is a dot. */
export function sparkline(values: Array<number | null>): string {
  return values
    .map((v) => (v === null ? '·' : BARS[Math.min(BARS.length - 1, Math.max(0, Math.round(v * (BARS.length - 1))))]))
    .join('');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(widths[i]! - [...c].length))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const interval = (a: { mean: number; low: number; high: number }) => `${pct(a.mean)} [${pct(a.low)}–${pct(a.high)}]`;

export function renderContexts(contexts: ContextSummary[]): string {
  if (contexts.length === 0) return 'Nothing learned yet: no pipeline has been recorded.\n';
  const rows = contexts.map((c) => [
    `${c.tenant}/${c.language}/${c.framework}`,
    String(c.runs),
    String(c.arms),
    c.best ? `${c.best.hash.slice(0, 12)} ${c.best.source}` : '-',
    c.best ? interval(c.best) : '-',
    sparkline(c.trend),
    c.lastRunAt?.slice(0, 16).replace('T', ' ') ?? '-',
  ]);
  return `${table(['stack', 'runs', 'arms', 'best configuration', 'success (90% CI)', '30 days', 'last run'], rows)}\n`;
}

export function renderStack(s: StackReport, days = 30): string {
  const c = s.context;
  const window = Array.from({ length: days }, (_, i) =>
    new Date(Date.now() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
  const armRows = s.arms.map((a) => {
    const byDay = new Map(a.trend.map((t) => [t.day, t]));
    const state = a.banned ? 'banned' : a.broken ? 'broken' : a.gated ? 'proposed' : 'gated';
    return [
      a.hash.slice(0, 12),
      a.source,
      String(a.runs),
      interval(a),
      state,
      a.meanDurationS === null ? '-' : `${Math.round(a.meanDurationS)}s`,
      sparkline(
        window.map((d) => {
          const t = byDay.get(d);
          return t?.runs ? t.successes / t.runs : null;
        }),
      ),
    ];
  });
  const decisionRows = s.decisions.map((d) => [
    d.at.slice(0, 16).replace('T', ' '),
    d.policy,
    d.kind,
    d.chosen.slice(0, 12),
    d.propensity.toFixed(3),
    d.probabilities
      .slice(0, 3)
      .map((p) => `${p.hash.slice(0, 7)}:${p.probability.toFixed(2)}`)
      .join(' '),
    d.reward === null ? '-' : d.reward.toFixed(2),
  ]);
  return [
    `${c.tenant}/${c.language}/${c.framework} — ${c.runs} runs, last ${c.lastRunAt?.slice(0, 16).replace('T', ' ') ?? 'never'}`,
    '',
    table(['configuration', 'source', 'runs', 'success (90% CI)', 'state', 'duration', `${days} days`], armRows),
    '',
    s.decisions.length ? `Latest decisions (probability the policy gave each arm):` : 'No decisions logged yet.',
    ...(s.decisions.length
      ? ['', table(['at', 'policy', 'kind', 'chosen', 'p(chosen)', 'top arms', 'reward'], decisionRows)]
      : []),
    '',
  ].join('\n');
}

async function overHttp<T>(io: CliIo, path: string): Promise<T> {
  const config = loadConfig(io.env);
  const base = config.publicUrl ?? `http://127.0.0.1:${config.port}`;
  const res = await fetch(`${base}${path}`, {
    headers: config.apiToken ? { authorization: `Bearer ${config.apiToken}` } : {},
  }).catch((err) => {
    throw new UserFacingError(
      `the store is held by \`serve\`, and the service at ${base} cannot be reached: ${errorMessage(err)}`,
    );
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new UserFacingError(`the service at ${base} answered ${res.status}: ${body.error ?? ''}`.trim());
  return body as T;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { context?: string; tenant?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { context: { type: 'string' }, tenant: { type: 'string' }, json: { type: 'boolean' } },
    }));
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  const parts = values.context?.split('/');
  if (values.context !== undefined && (parts?.length !== 3 || parts.some((p) => !p)))
    throw new UserFacingError('--context is TENANT/LANGUAGE/FRAMEWORK, e.g. acme/node/express', { exitCode: 2 });
  const context = parts && { tenant: parts[0]!, language: parts[1]!, framework: parts[2]! };
  const config = loadConfig(io.env);

  let data: ContextSummary[] | StackReport | null;
  try {
    data = await withDomain<ContextSummary[] | StackReport | null>(
      config,
      'report',
      (domain, store) => {
        const reports = learningReports(store.db, domain.learner);
        return context ? reports.stack(context) : reports.contexts({ tenant: values.tenant });
      },
      { readOnly: true },
    );
  } catch (err) {
    if (err instanceof StoreUnavailableError) data = context ? null : [];
    else if (err instanceof DataDirLockedError) {
      data = context
        ? await overHttp<StackReport>(io, `/api/v1/report/stack?${new URLSearchParams(context)}`)
        : (
            await overHttp<{ contexts: ContextSummary[] }>(
              io,
              `/api/v1/report/contexts${values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : ''}`,
            )
          ).contexts;
    } else throw err;
  }
  if (context && !data) throw new UserFacingError(`no learning context ${values.context}`);
  if (values.json) io.stdout(`${JSON.stringify(data, null, 2)}\n`);
  else io.stdout(Array.isArray(data) ? renderContexts(data) : renderStack(data as StackReport));
  return 0;
}

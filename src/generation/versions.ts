/**
 * The one table of runtime and tool versions the generator writes into pipelines and Dockerfiles,
 * and the rule that turns what a repository declares into a version:
 *
 * - an exact pin (`.nvmrc 20.11.1`, `.ruby-version 3.4.4`, `.python-version 3.12.3`, a Java or .NET
 *   target) is kept exactly, full version in the image tag;
 * - a range or minimum (`engines >=18`, `requires-python >=3.9`, `go 1.22`, `rust-version`) resolves
 *   to the newest supported release the range allows that is at least six months old (for runtimes
 *   with LTS lines: the newest LTS line, counted from the day it became LTS);
 * - nothing declared resolves the same way with no range.
 *
 * Update it by editing the rows (release and end-of-life dates from each project's release page)
 * and TABLE_DATE; docs/generation-versions-and-tests.md says how. Nothing else in src/ or
 * ci-components/ names a version of a runtime or a tool.
 */

/** The day the table was written; "six months old" and "end of life" are judged against it. */
export const TABLE_DATE = '2026-12-04';

/** Minimum age of a release line before it becomes the default for a range. */
const MATURITY_MONTHS = 6;

export interface Release {
  /** the release line as an image tag names it: "22", "3.13", "1.26", "8.0" */
  line: string;
  released: string;
  /** for LTS runtimes: the day the line became LTS (what "six months old" counts from) */
  lts?: string;
  /** end of life (upstream support ends), when known */
  eol?: string;
}

export interface Runtime {
  /** LTS runtimes pick only LTS lines for ranges; others pick any stable line */
  hasLts: boolean;
  /** newest first */
  releases: Release[];
}

/**
 * Release lines. Dates up to mid-2025 are the published ones; later ones are the projects'
 * announced schedules (Node, Python, Go, Java, .NET, Ruby, PHP and Rust all release on a calendar).
 */
export const RUNTIMES: Record<string, Runtime> = {
  node: {
    hasLts: true,
    releases: [
      { line: '26', released: '2026-04-22', lts: '2026-10-28', eol: '2029-04-30' },
      { line: '25', released: '2025-10-15', eol: '2026-06-01' },
      { line: '24', released: '2025-05-06', lts: '2025-10-28', eol: '2028-04-30' },
      { line: '23', released: '2024-10-16', eol: '2025-06-01' },
      { line: '22', released: '2024-04-24', lts: '2024-10-29', eol: '2027-04-30' },
      { line: '20', released: '2023-04-18', lts: '2023-10-24', eol: '2026-04-30' },
      { line: '18', released: '2022-04-19', lts: '2022-10-25', eol: '2025-04-30' },
    ],
  },
  python: {
    hasLts: false,
    releases: [
      { line: '3.15', released: '2026-10-01', eol: '2031-10-31' },
      { line: '3.14', released: '2025-10-07', eol: '2030-10-31' },
      { line: '3.13', released: '2024-10-07', eol: '2029-10-31' },
      { line: '3.12', released: '2023-10-02', eol: '2028-10-31' },
      { line: '3.11', released: '2022-10-24', eol: '2027-10-31' },
      { line: '3.10', released: '2021-10-04', eol: '2026-10-31' },
      { line: '3.9', released: '2020-10-05', eol: '2025-10-31' },
      { line: '3.8', released: '2019-10-14', eol: '2024-10-07' },
    ],
  },
  go: {
    // the Go team supports the two newest minor releases
    hasLts: false,
    releases: [
      { line: '1.27', released: '2026-08-11' },
      { line: '1.26', released: '2026-02-10', eol: '2027-02-09' },
      { line: '1.25', released: '2025-08-12', eol: '2026-08-11' },
      { line: '1.24', released: '2025-02-11', eol: '2026-02-10' },
      { line: '1.23', released: '2024-08-13', eol: '2025-08-12' },
      { line: '1.22', released: '2024-02-06', eol: '2025-02-11' },
    ],
  },
  java: {
    hasLts: true,
    releases: [
      { line: '25', released: '2025-09-16', lts: '2025-09-16', eol: '2030-09-30' },
      { line: '21', released: '2023-09-19', lts: '2023-09-19', eol: '2028-09-30' },
      { line: '17', released: '2021-09-14', lts: '2021-09-14', eol: '2027-10-31' },
      { line: '11', released: '2018-09-25', lts: '2018-09-25', eol: '2027-10-31' },
      { line: '8', released: '2014-03-18', lts: '2014-03-18', eol: '2030-12-31' },
    ],
  },
  ruby: {
    hasLts: false,
    releases: [
      { line: '4.0', released: '2025-12-25', eol: '2029-03-31' },
      { line: '3.4', released: '2024-12-25', eol: '2028-03-31' },
      { line: '3.3', released: '2023-12-25', eol: '2027-03-31' },
      { line: '3.2', released: '2022-12-25', eol: '2026-03-31' },
      { line: '3.1', released: '2021-12-25', eol: '2025-03-31' },
    ],
  },
  php: {
    hasLts: false,
    releases: [
      { line: '8.5', released: '2025-11-20', eol: '2029-12-31' },
      { line: '8.4', released: '2024-11-21', eol: '2028-12-31' },
      { line: '8.3', released: '2023-11-23', eol: '2027-12-31' },
      { line: '8.2', released: '2022-12-08', eol: '2026-12-31' },
      { line: '8.1', released: '2021-11-25', eol: '2025-12-31' },
    ],
  },
  dotnet: {
    hasLts: true,
    releases: [
      { line: '10.0', released: '2025-11-11', lts: '2025-11-11', eol: '2028-11-14' },
      { line: '9.0', released: '2024-11-12', eol: '2026-11-10' },
      { line: '8.0', released: '2023-11-14', lts: '2023-11-14', eol: '2026-11-10' },
    ],
  },
  rust: {
    // a new stable every six weeks; the MSRV (rust-version) is a minimum
    hasLts: false,
    releases: [
      { line: '1.100', released: '2026-11-12' },
      { line: '1.99', released: '2026-10-01' },
      { line: '1.98', released: '2026-08-20' },
      { line: '1.97', released: '2026-07-09' },
      { line: '1.96', released: '2026-05-28' },
      { line: '1.95', released: '2026-04-16' },
      { line: '1.94', released: '2026-03-05' },
      { line: '1.90', released: '2025-09-18' },
      { line: '1.86', released: '2025-04-03' },
    ],
  },
  gcc: {
    hasLts: false,
    releases: [
      { line: '15', released: '2025-04-25' },
      { line: '14', released: '2024-05-07' },
    ],
  },
};

/**
 * Tools the pipelines install or run, pinned. Newest published release as of TABLE_DATE unless a
 * note says otherwise; `versions` lists the releases a declared constraint may choose among.
 */
export const TOOLS = {
  /** Python packaging and linters, installed with pip at these versions */
  uv: { version: '0.13.8', versions: ['0.13.8', '0.8.4', '0.7.8'] },
  poetry: { version: '2.5.1', versions: ['2.5.1', '1.8.5'] },
  pipenv: { version: '2026.10.3', versions: ['2026.10.3'] },
  ruff: { version: '0.17.5' },
  black: { version: '26.10.1' },
  flake8: { version: '7.5.0' },
  mypy: { version: '2.4.1' },
  pipAudit: { version: '2.10.1' },
  /** only when the project declares pytest-cov itself; never installed behind its back */
  pytestCov: { version: '7.1.0' },
  /** Node package managers and reporters, installed with npm */
  pnpm: {
    version: '10.34.9',
    versions: ['12.23.0', '10.34.9', '9.15.9', '8.15.9'],
    // pnpm 11 and later crash on Node 20; 10 runs on every supported Node
    note: 'pnpm ≥ 11 needs Node ≥ 22',
  },
  yarnClassic: { version: '1.22.22' },
  yarnBerry: { version: '4.18.1' },
  jestJunit: { version: '17.0.0' },
  bun: { version: '1.3' },
  /** Go tools, installed with `go install` */
  gotestsum: { version: 'v1.13.0' },
  govulncheck: { version: 'v1.9.0' },
  /** Ruby */
  bundlerAudit: { version: '0.9.2' },
  rspecJunitFormatter: { version: '0.6.0' },
  /** PHP */
  composer: { version: '2.8.8', image: '2.8' },
  /** .NET: the JUnit logger NuGet package */
  junitXmlTestLogger: { version: '8.1.0' },
  /** JVM build tool images (the project's wrapper is preferred when it has one) */
  maven: { image: '3.9' },
  gradle: { image: '8.14', imageForJava25: '9.1' },
} as const;

/** Official images of the services tests need (tags that exist on their registries); the project's own tag wins. */
export const SERVICE_VERSIONS: Record<string, string> = {
  postgres: '17',
  mysql: '8.4',
  mariadb: '11.4',
  redis: '7',
  mongo: '8.0',
  rabbitmq: '4',
  elasticsearch: '8.17.4',
  opensearch: '2.19.1',
};

/** Container images the pipelines run outside any stack: never `latest`. */
export const TOOL_IMAGES = {
  buildah: 'quay.io/buildah/stable:v1.39.3',
  curl: 'curlimages/curl:8.13.0',
};

/** How a repository stated a version. */
export type VersionSpec =
  | { kind: 'exact'; value: string; file: string; detail: string }
  | { kind: 'range'; value: string; file: string; detail: string; dialect?: RangeDialect };

/** npm/Poetry carets and tildes, Composer's tilde, Ruby's `~>` and PEP 440's `~=` differ slightly */
export type RangeDialect = 'npm' | 'composer' | 'pep440' | 'ruby';

export interface ResolvedVersion {
  version: string;
  /** for evidence: "engines.node >=18 → newest supported LTS at least six months old" */
  why: string;
  file: string;
}

type V = number[];

function parseVersion(text: string): V | null {
  const m = text.trim().match(/^v?(\d+)(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?/i);
  if (!m) return null;
  const out: V = [Number(m[1])];
  for (const p of [m[2], m[3]]) {
    if (p === undefined || /[x*]/i.test(p)) break;
    out.push(Number(p));
  }
  return out;
}

function cmp(a: V, b: V): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** the first version after every version that starts with `v` at this precision */
function bump(v: V, at: number): V {
  const out = v.slice(0, at + 1);
  while (out.length < at + 1) out.push(0);
  out[at]++;
  return out;
}

/** [lo, hi) with inclusive lo; hi null = unbounded; hiInclusive for `<=` */
interface Interval {
  lo: V;
  loInclusive: boolean;
  hi: V | null;
  hiInclusive: boolean;
}

const ALL: Interval = { lo: [0], loInclusive: true, hi: null, hiInclusive: false };

function comparatorInterval(op: string, v: V, dialect: RangeDialect): Interval | null {
  const last = v.length - 1;
  switch (op) {
    case '>=':
      return { ...ALL, lo: v };
    case '>':
      return { ...ALL, lo: v, loInclusive: false };
    case '<':
      return { ...ALL, hi: v };
    case '<=':
      return { ...ALL, hi: v, hiInclusive: true };
    case '^': {
      const at = v[0] === 0 && v.length > 1 ? 1 : 0;
      return { ...ALL, lo: v, hi: bump(v, at) };
    }
    case '~':
      if (dialect === 'composer') return { ...ALL, lo: v, hi: bump(v, Math.max(0, last - 1)) };
      return { ...ALL, lo: v, hi: bump(v, v.length > 1 ? 1 : 0) };
    case '~>':
    case '~=':
      return { ...ALL, lo: v, hi: bump(v, Math.max(0, last - 1)) };
    case '!=':
      return ALL;
    default:
      // `=`, `==`, bare: a partial version means the whole series (`20` is 20.x, `==3.12.*`)
      return { ...ALL, lo: v, hi: v.length >= 3 ? v : bump(v, last), hiInclusive: v.length >= 3 };
  }
}

function intersect(a: Interval, b: Interval): Interval {
  const lc = cmp(a.lo, b.lo);
  const lo = lc > 0 ? a : lc < 0 ? b : { lo: a.lo, loInclusive: a.loInclusive && b.loInclusive };
  let hi: Pick<Interval, 'hi' | 'hiInclusive'>;
  if (a.hi === null) hi = b;
  else if (b.hi === null) hi = a;
  else {
    const hc = cmp(a.hi, b.hi);
    hi = hc < 0 ? a : hc > 0 ? b : { hi: a.hi, hiInclusive: a.hiInclusive && b.hiInclusive };
  }
  return { lo: lo.lo, loInclusive: lo.loInclusive, hi: hi.hi, hiInclusive: hi.hiInclusive };
}

/** The alternatives a range allows, each an interval; null when nothing in it is a version. */
export function parseRange(range: string, dialect: RangeDialect = 'npm'): Interval[] | null {
  const out: Interval[] = [];
  for (const alt of range.split('||')) {
    // npm hyphen ranges: "18 - 22"
    const hyphen = alt.match(/^\s*(\S+)\s+-\s+(\S+)\s*$/);
    const comparators = hyphen
      ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`]
      : alt
          .replace(/(>=|<=|~>|~=|==|!=|[<>=^~])\s+/g, '$1')
          .split(/[\s,]+/)
          .filter(Boolean);
    let interval: Interval = ALL;
    let any = false;
    for (const c of comparators) {
      const m = c.match(/^(>=|<=|~>|~=|==|!=|[<>=^~])?v?(\d[\w.*]*)/i);
      if (!m) continue;
      const v = parseVersion(m[2]);
      if (!v) continue;
      const i = comparatorInterval(m[1] ?? '', v, dialect);
      if (!i) continue;
      interval = intersect(interval, i);
      any = true;
    }
    if (any) out.push(interval);
  }
  return out.length > 0 ? out : null;
}

/** Does some version of the release line (e.g. "3.13" = 3.13.x) fall in the interval? */
function lineAllowed(line: string, intervals: Interval[]): boolean {
  const lineLo = parseVersion(line)!;
  const lineHi = bump(lineLo, lineLo.length - 1);
  return intervals.some((i) => {
    const belowHi = i.hi === null || cmp(lineLo, i.hi) < 0 || (i.hiInclusive && cmp(lineLo, i.hi) === 0);
    const aboveLo = cmp(lineHi, i.lo) > 0;
    return belowHi && aboveLo;
  });
}

function monthsBefore(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.toISOString().slice(0, 10);
}

function supported(r: Release, today: string): boolean {
  return r.eol === undefined || r.eol > today;
}

function mature(runtime: Runtime, r: Release, today: string): boolean {
  const since = runtime.hasLts ? r.lts : r.released;
  return since !== undefined && since <= monthsBefore(today, MATURITY_MONTHS);
}

function describeRule(runtime: Runtime): string {
  return runtime.hasLts
    ? 'newest supported LTS at least six months old'
    : 'newest supported release at least six months old';
}

/** The release line chosen for a range (or for nothing declared): the pinned rule. */
export function newestSupported(
  name: string,
  range: string | null = null,
  dialect: RangeDialect = 'npm',
  today: string = TABLE_DATE,
): { line: string; note: string } | null {
  const runtime = RUNTIMES[name];
  if (!runtime) return null;
  const intervals = range ? parseRange(range, dialect) : [ALL];
  if (!intervals) return null;
  const allowed = runtime.releases.filter((r) => lineAllowed(r.line, intervals));
  const tiers: Array<[Release[], string]> = [
    [
      allowed.filter((r) => supported(r, today) && mature(runtime, r, today) && (!runtime.hasLts || r.lts)),
      describeRule(runtime),
    ],
    [allowed.filter((r) => supported(r, today)), 'newest supported release the range allows (younger than six months)'],
    [allowed, 'the range allows only releases past their end of life'],
  ];
  for (const [rows, note] of tiers) if (rows.length > 0) return { line: rows[0].line, note };
  return null;
}

/**
 * The version for a runtime: an exact pin kept as written (minus a `v`/`ruby-` prefix), a range
 * resolved by the rule, nothing declared resolved by the rule with no range.
 */
export function resolveRuntime(name: string, spec: VersionSpec | null, today: string = TABLE_DATE): ResolvedVersion {
  if (spec?.kind === 'exact') {
    const exact = spec.value.trim().replace(/^(v|ruby-|python-|go)(?=\d)/, '');
    if (/^\d+(\.\d+){0,2}$/.test(exact)) {
      const eol = RUNTIMES[name]?.releases.find((r) => exact === r.line || exact.startsWith(`${r.line}.`))?.eol;
      const past = eol && eol <= today ? ` (past its end of life ${eol}; kept because the repository pins it)` : '';
      return { version: exact, why: `${spec.detail} → exact pin kept${past}`, file: spec.file };
    }
    // `lts/*`, `stable`, `node`: aliases for the newest
    const r = newestSupported(name, null, 'npm', today);
    if (r) return { version: r.line, why: `${spec.detail} → ${r.note}`, file: spec.file };
  }
  if (spec?.kind === 'range') {
    const r = newestSupported(name, spec.value, spec.dialect ?? 'npm', today);
    if (r) return { version: r.line, why: `${spec.detail} → ${r.note}`, file: spec.file };
    const min = parseVersion(spec.value.replace(/^[^\d]*/, ''));
    if (min)
      return {
        version: min.join('.'),
        why: `${spec.detail} → no release in the table of ${TABLE_DATE} fits; its lowest version`,
        file: spec.file,
      };
  }
  const r = newestSupported(name, null, 'npm', today);
  if (!r) throw new Error(`no release table for ${name}`);
  return { version: r.line, why: `not declared → ${r.note} (table of ${TABLE_DATE})`, file: '(default)' };
}

/** The default line for a runtime when an analysis has none (synthetic analyses, overrides). */
export function defaultVersion(name: string): string {
  return newestSupported(name)?.line ?? '';
}

/**
 * A tool version for a declared constraint (`required-version`, `packageManager`, `requires-poetry`):
 * an exact version is kept, a range picks the newest listed release it allows, nothing → the pin.
 */
export function resolveTool(
  tool: 'uv' | 'poetry' | 'pnpm' | 'yarn',
  constraint: string | null,
  dialect: RangeDialect = 'pep440',
): { version: string; why: string } {
  const list: readonly string[] =
    tool === 'yarn'
      ? [TOOLS.yarnBerry.version, TOOLS.yarnClassic.version]
      : tool === 'pnpm'
        ? TOOLS.pnpm.versions
        : TOOLS[tool].versions;
  const pin = tool === 'yarn' ? TOOLS.yarnBerry.version : TOOLS[tool].version;
  if (!constraint) return { version: pin, why: `not declared → pinned ${tool} ${pin} (table of ${TABLE_DATE})` };
  const exact = constraint.trim().replace(/^[=v]+/, '');
  if (/^\d+\.\d+\.\d+$/.test(exact)) return { version: exact, why: `${constraint} → exact version kept` };
  const intervals = parseRange(constraint, dialect);
  const within = (v: string) =>
    intervals?.some((i) => {
      const x = parseVersion(v)!;
      const c = cmp(x, i.lo);
      const aboveLo = c > 0 || (c === 0 && i.loInclusive);
      const belowHi = i.hi === null || cmp(x, i.hi) < 0 || (i.hiInclusive && cmp(x, i.hi) === 0);
      return aboveLo && belowHi;
    }) ?? false;
  if (within(pin)) return { version: pin, why: `${constraint} → pinned ${tool} ${pin} satisfies it` };
  const hit = list.find(within);
  if (hit) return { version: hit, why: `${constraint} → newest listed ${tool} release it allows` };
  return { version: pin, why: `${constraint} → no listed ${tool} release fits; pinned ${pin}` };
}

/** Records the resolved version of a runtime on an analysis, with the evidence line saying why. */
export function noteVersion(
  a: { versions: Record<string, string>; evidence: Array<{ fact: string; file: string; detail: string }> },
  name: string,
  spec: VersionSpec | null,
): void {
  const r = resolveRuntime(name, spec);
  a.versions[name] = r.version;
  a.evidence.push({ fact: `${name}=${r.version}`, file: r.file, detail: r.why });
}

/** The build tool's own image for a JDK release (used when the project has no wrapper). */
export function jvmBuildImage(maven: boolean, java: string): string {
  if (maven) return `maven:${TOOLS.maven.image}-eclipse-temurin-${java}`;
  // Gradle 8 runs on Java ≤ 24; Java 25 needs Gradle 9
  const gradle = Number.parseInt(java, 10) >= 25 ? TOOLS.gradle.imageForJava25 : TOOLS.gradle.image;
  return `gradle:${gradle}-jdk${java}`;
}

// Real-repository evaluation (issue 9): for each checkout under <dir>, generate a proposal with the built CLI,
// preview it with gitlab-ci-local, run its test jobs under the shell executor where the host toolchain satisfies
// the project, and run the maintainers' own test command as ground truth. One repository at a time.
//
//   node bench/real-repos.mjs <dir> [--cli dist/cli.js] [--json] [--only a,b] [--timeout-min 8]
//                                   [--out <dir>] [--no-run] [--no-own] [--fresh-own] [--own-always] [--iterations 20]
//   node bench/real-repos.mjs <dir> --report <out>/results.json    (re-render a finished run)
//
// <dir> holds checkouts named owner__name (see bench/real-repos.json and docs/real-repos.md).
// Results and logs go to --out (default <dir>/../real-repos-out); the maintainers' results are cached there per
// commit, since they do not depend on the generator.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMap, isScalar, isSeq, parseAllDocuments, parseDocument } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GCL = join(root, 'node_modules', 'gitlab-ci-local', 'src', 'index.js');
const MANIFEST = join(root, 'bench', 'real-repos.json');

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cli: { type: 'string', default: join(root, 'dist', 'cli.js') },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    'timeout-min': { type: 'string', default: '8' },
    out: { type: 'string' },
    'no-run': { type: 'boolean', default: false },
    'no-own': { type: 'boolean', default: false },
    'fresh-own': { type: 'boolean', default: false },
    'own-always': { type: 'boolean', default: false },
    iterations: { type: 'string', default: '20' },
    policy: { type: 'string', default: 'greedy' },
    report: { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/real-repos.mjs <dir> [--cli dist/cli.js] [--json] [--only a,b] [--timeout-min 8]');
  process.exit(2);
}
const reposDir = resolve(positionals[0]);
const cli = resolve(opt.cli);
const outDir = resolve(opt.out ?? join(reposDir, '..', 'real-repos-out'));
const scratch = join(outDir, 'work');
const timeoutMs = Number(opt['timeout-min']) * 60_000;
const ITER = Number(opt.iterations);
mkdirSync(scratch, { recursive: true });
const log = (m) => process.stderr.write(`[real-repos] ${m}\n`);

const manifest = existsSync(MANIFEST) ? JSON.parse(readFileSync(MANIFEST, 'utf8')) : { repos: [] };
const byDir = new Map(manifest.repos.map((r) => [r.repo.replace('/', '__'), r]));
const only = opt.only ? new Set(opt.only.split(',').map((s) => s.replace('/', '__'))) : null;
// --only runs in the order given (cheap repositories first when time is short)
const dirs = readdirSync(reposDir)
  .filter((n) => statSync(join(reposDir, n)).isDirectory() && existsSync(join(reposDir, n, '.git')))
  .filter((n) => !only || only.has(n))
  .sort((a, b) => (only ? [...only].indexOf(a) - [...only].indexOf(b) : a.localeCompare(b)));

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};
const git = (cwd, args) => execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' });

/** Runs a command with a timeout in its own process group (so a timeout kills the whole tree). */
function sh(cmd, args, { cwd, env = {}, timeout = timeoutMs, input } = {}) {
  return new Promise((resolveRun) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: 'pipe' });
    let out = '';
    const keep = (d) => {
      out += d;
      if (out.length > 4_000_000) out = out.slice(-2_000_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: timedOut ? 124 : (code ?? 1), out, timedOut, ms: performance.now() - t0 });
    });
  });
}

/** A clean copy of the tracked files (a clone of the checkout) with the origin gitlab-ci-local expects. */
function freshCopy(src, dest, files = {}) {
  rmSync(dest, { recursive: true, force: true });
  try {
    git(scratch, ['clone', '-q', '--no-hardlinks', src, dest]);
  } catch {
    // a snapshot without its largest blobs cannot be cloned: take the working tree as one commit instead
    rmSync(dest, { recursive: true, force: true });
    execFileSync('rsync', ['-a', '--exclude', '.git', `${src}/`, `${dest}/`]);
    git(dest, ['init', '-q', '-b', 'main']);
    git(dest, ['add', '-A']);
    git(dest, ['commit', '-q', '--no-verify', '-m', 'checkout']);
    git(dest, ['remote', 'add', 'origin', src]);
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dest, path)), { recursive: true });
    writeFileSync(join(dest, path), content);
  }
  if (Object.keys(files).length > 0) {
    git(dest, ['add', '-A', '--', ...Object.keys(files)]);
    git(dest, ['commit', '-q', '--no-verify', '-m', 'pipeline-learner proposal']);
  }
  git(dest, ['remote', 'set-url', 'origin', 'git@gitlab.example.com:group/project.git']);
  const branch = git(dest, ['rev-parse', '--abbrev-ref', 'HEAD']).trim();
  git(dest, ['update-ref', `refs/remotes/origin/${branch}`, 'HEAD']);
  return dest;
}

// Jobs run on the host here, where a job's `apt-get install` of a package the host already has would only fight
// other processes for the dpkg lock; a missing package still goes to the real apt-get.
const SHIMS = join(outDir, 'shims');
mkdirSync(SHIMS, { recursive: true });
writeFileSync(
  join(SHIMS, 'apt-get'),
  `#!/bin/sh
[ "$1" = update ] && exit 0
if [ "$1" = install ]; then
  missing=""
  for a in "$@"; do case "$a" in -*|install) ;; *) dpkg -s "$a" >/dev/null 2>&1 || missing="$missing $a";; esac; done
  [ -z "$missing" ] && exit 0
fi
exec /usr/bin/apt-get "$@"
`,
  { mode: 0o755 },
);

// Version-manager shims (pyenv) would hand a job the host's global tools (a pytest the project never installs);
// jobs see the interpreter through a fresh virtualenv only, as they would see it in a clean image.
const HOST_PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).stdout.trim();
const HOST_PATH = (process.env.PATH ?? '')
  .split(':')
  .filter((d) => !/\/\.(pyenv|rbenv|nodenv)\//.test(`${d}/`))
  .join(':');

/**
 * A per-repository virtualenv first on PATH: `pip install` in a shell-executor job stays out of the host Python.
 * With an image's Python, its interpreter is also on PATH as a system one (`pythonX.Y` only, nothing else from
 * that installation), as the image has it in /usr/local/bin: tools that create their own environments (tox-uv,
 * `uv venv --python-preference system`) refuse a virtualenv's interpreter.
 */
function venvEnv(name, python = null) {
  const venv = join(outDir, 'venvs', python ? `${name}-py${python.version}` : name);
  if (!existsSync(join(venv, 'bin', 'python')))
    spawnSync(python?.path ?? (HOST_PYTHON || 'python3'), ['-m', 'venv', venv], { stdio: 'ignore' });
  const dirs = [join(venv, 'bin')];
  if (python) {
    const system = join(outDir, 'venvs', `system-py${python.version}`);
    const link = join(system, `python${python.version}`);
    mkdirSync(system, { recursive: true });
    if (!existsSync(link)) symlinkSync(python.path, link);
    dirs.push(system);
  }
  return { PATH: `${[...dirs, SHIMS].join(':')}:${HOST_PATH}`, VIRTUAL_ENV: venv };
}

/**
 * The interpreter a `python:X.Y` image would give the test jobs, when the host has that release (pyenv
 * installs included): the jobs' virtualenv is made from it, as the image would provide it. Null when the
 * test jobs name no Python image, or the host lacks the release (the host default is used; see the row).
 */
function imagePython(testJobs) {
  const versions = testJobs
    .map(([, v]) => (typeof v.image === 'string' ? v.image : v.image?.name) ?? '')
    .map((i) => i.match(/^python:(\d+\.\d+)/)?.[1])
    .filter(Boolean);
  const version = versions[0];
  if (!version) return null;
  const pyenv = join(process.env.HOME ?? '/root', '.pyenv', 'versions');
  const dirs = existsSync(pyenv) ? readdirSync(pyenv).filter((d) => d === version || d.startsWith(`${version}.`)) : [];
  for (const d of dirs.sort().reverse()) {
    const path = join(pyenv, d, 'bin', `python${version}`);
    if (existsSync(path)) return { version, path };
  }
  const onPath = spawnSync('sh', ['-c', `command -v python${version}`], { encoding: 'utf8' }).stdout.trim();
  return onPath ? { version, path: onPath } : null;
}

// ---- services the shell executor cannot start (pinned: host PostgreSQL and Redis, Debian packages) ----
const started = new Set();
async function ensureService(name, setup) {
  if (name === 'postgresql') {
    if (!started.has(name)) {
      const r = spawnSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
      const line = (r.stdout ?? '').trim().split('\n')[0];
      if (!line) throw new Error('no PostgreSQL cluster (apt-get install -y postgresql)');
      const [ver, cluster, , status] = line.split(/\s+/);
      if (status !== 'online') spawnSync('pg_ctlcluster', [ver, cluster, 'start'], { stdio: 'ignore' });
      spawnSync('su', ['postgres', '-c', `psql -qc "ALTER USER postgres PASSWORD 'postgres'"`], { stdio: 'ignore' });
      started.add(name);
    }
    for (const db of setup?.databases ?? []) spawnSync('su', ['postgres', '-c', `createdb ${db}`], { stdio: 'ignore' });
  } else if (name === 'redis') {
    if (started.has(name)) return;
    if (spawnSync('redis-cli', ['ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG')
      spawnSync('redis-server', ['--daemonize', 'yes', '--port', '6379', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    started.add(name);
  } else throw new Error(`unknown service ${name}`);
}

/**
 * The proposal as the shell executor can run it: `image:` and `services:` removed (gitlab-ci-local calls
 * Docker for services even with --force-shell-executor), service aliases in variables pointed at the host,
 * and the host services those jobs need (PostgreSQL, Redis) with the users and databases their variables name.
 */
export function shellVariant(configText) {
  const doc = parseDocument(configText);
  const aliases = new Set();
  const kinds = new Set();
  const databases = [];
  const serviceName = (s) => (isScalar(s) ? String(s.value) : isMap(s) ? String(s.get('name') ?? '') : '');
  const walkServices = (node) => {
    if (!isSeq(node)) return;
    for (const s of node.items) {
      const name = serviceName(s);
      const base = name.split(':')[0];
      const alias = isMap(s) && s.get('alias') ? String(s.get('alias')) : base.replaceAll('/', '__');
      aliases.add(alias);
      aliases.add(base.split('/').pop());
      if (/postgres/.test(base)) kinds.add('postgresql');
      if (/redis|valkey/.test(base)) kinds.add('redis');
      const vars = isMap(s) ? s.get('variables') : null;
      if (isMap(vars) && /postgres/.test(base)) {
        databases.push({
          db: String(vars.get('POSTGRES_DB') ?? vars.get('POSTGRES_USER') ?? 'postgres'),
          user: String(vars.get('POSTGRES_USER') ?? 'postgres'),
          password: String(vars.get('POSTGRES_PASSWORD') ?? 'postgres'),
        });
      }
    }
  };
  if (!isMap(doc.contents)) return { config: configText, kinds, databases };
  const entries = doc.contents.items;
  for (const pair of entries) {
    const key = String(pair.key?.value ?? pair.key);
    if (key === 'image' || key === 'services') {
      if (key === 'services') walkServices(pair.value);
      continue;
    }
    if (!isMap(pair.value)) continue;
    walkServices(pair.value.get('services'));
    pair.value.delete('image');
    pair.value.delete('services');
  }
  doc.contents.items = entries.filter((p) => !['image', 'services'].includes(String(p.key?.value ?? p.key)));
  // a URL's host, or a whole value, naming a service alias points at the host instead
  const toHost = (value) => {
    if (aliases.has(value)) return '127.0.0.1';
    const m = value.match(/^([a-z][\w+.-]*:\/\/(?:[^@/]*@)?)([^:/?#]+)(.*)$/is);
    return m && aliases.has(m[2]) ? `${m[1]}127.0.0.1${m[3]}` : value;
  };
  const rewrite = (vars) => {
    if (aliases.size === 0 || !isMap(vars)) return;
    for (const v of vars.items)
      if (isScalar(v.value) && typeof v.value.value === 'string') v.value.value = toHost(v.value.value);
  };
  for (const pair of doc.contents.items) {
    const key = String(pair.key?.value ?? pair.key);
    if (key === 'variables') rewrite(pair.value);
    else if (isMap(pair.value)) rewrite(pair.value.get('variables'));
  }
  return { config: doc.toString({ lineWidth: 0 }), kinds, databases };
}

/** A PostgreSQL role and database on the host as a job's service variables name them. */
function hostDatabase({ db, user, password }) {
  const q = (x) => x.replace(/'/g, "''");
  const psql = (sql) =>
    spawnSync('su', ['postgres', '-c', `psql -qc "${sql.replace(/"/g, '\\"')}"`], { stdio: 'ignore' });
  if (user !== 'postgres') psql(`CREATE ROLE "${user}" LOGIN SUPERUSER PASSWORD '${q(password)}'`);
  psql(`ALTER USER "${user}" PASSWORD '${q(password)}'`);
  spawnSync('su', ['postgres', '-c', `createdb -O "${user}" "${db}"`], { stdio: 'ignore' });
}

// ---- generation time and GitLab reads, in-process, from the same build as --cli ----
const distDir = dirname(cli);
let inProcess = null;
try {
  const imp = (p) => import(pathToFileURL(join(distDir, p)).href);
  const [{ generatePipeline }, { seedRuleChooser }, { LocalRepoReader }, { GitLabRepoReader }] = await Promise.all([
    imp('generation/generatePipeline.js'),
    imp('generation/seedRuleChooser.js'),
    imp('repo/LocalRepoReader.js'),
    imp('repo/GitLabRepoReader.js'),
  ]);
  inProcess = { generatePipeline, seedRuleChooser, LocalRepoReader, GitLabRepoReader };
} catch (err) {
  log(`in-process timing unavailable (${err.message}); generation time is the CLI's wall time`);
}
const deps = () => ({
  chooser: inProcess.seedRuleChooser,
  learnStage: { component: null, serviceUrl: 'https://learner.example.com' },
});

async function timeGeneration(dir) {
  const { generatePipeline, LocalRepoReader, GitLabRepoReader } = inProcess;
  const reader = async () => (LocalRepoReader.open ? LocalRepoReader.open(dir) : new LocalRepoReader(dir));
  await generatePipeline({ reader: await reader(), tenant: 'local' }, deps());
  const samples = [];
  const cpu = [];
  for (let i = 0; i < ITER; i++) {
    const r = await reader();
    const t = performance.now();
    const c = process.cpuUsage();
    await generatePipeline({ reader: r, tenant: 'local' }, deps());
    const used = process.cpuUsage(c);
    samples.push(performance.now() - t);
    // CPU time of this process (user + system): what the generation itself costs on a shared machine
    cpu.push((used.user + used.system) / 1000);
  }
  // GitLab as the service would see the project: its tracked files, one recursive listing (100 entries a page)
  const tracked = git(dir, ['ls-files', '-z']).split('\0').filter(Boolean);
  const trees = new Set();
  for (const f of tracked) for (let d = dirname(f); d !== '.'; d = dirname(d)) trees.add(d);
  const calls = { treeListings: 0, treePages: 0, fileReads: 0 };
  const gitlab = {
    async tree() {
      calls.treeListings++;
      calls.treePages += Math.max(1, Math.ceil((tracked.length + trees.size) / 100));
      return [
        ...[...trees].map((path) => ({ path, type: 'tree' })),
        ...tracked.map((path) => ({ path, type: 'blob' })),
      ];
    },
    async fileRaw(_p, path) {
      calls.fileReads++;
      try {
        return readFileSync(join(dir, path), 'utf8');
      } catch {
        return null;
      }
    },
  };
  await generatePipeline({ reader: new GitLabRepoReader(gitlab, 'acme/app', 'main'), tenant: 'acme' }, deps());
  return { samples, cpu, ...calls };
}

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The expanded YAML of `--preview`, without the lines gitlab-ci-local prints before it. */
function previewDoc(stdout) {
  const text = stdout
    .split('\n')
    .filter((l) => !/^\s*(WARN|INFO)\b/.test(l))
    .join('\n');
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [];
  for (let i = list.length - 1; i >= 0; i--) {
    try {
      const js = list[i].toJS({ maxAliasCount: -1 });
      if (js && typeof js === 'object') return js;
    } catch {}
  }
  return {};
}

const RESERVED = new Set([
  'stages',
  'variables',
  'default',
  'workflow',
  'include',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
]);
const asLines = (s) => (Array.isArray(s) ? s.flat(Infinity).map(String) : s == null ? [] : [String(s)]);
/** A job whose script only prints or exits 0 passes without testing anything. */
const testsNothing = (job) =>
  asLines(job.script).every((l) => /^\s*(echo\b|printf\b|true\b|:|exit 0\b|#)/.test(l) || l.trim() === '');

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The most telling lines of a red log: the first error-looking lines near the end. */
function reasonOf(out) {
  const lines = out
    .split('\n')
    .map((l) => l.replace(ANSI, '').trim())
    .filter(Boolean);
  const tail = lines.slice(-200);
  const hit = tail.filter((l) =>
    /error|not found|No such file|failed|FAILED|refused|cannot|could not|Could not|requires|unsupported|denied|timed out|ERROR/i.test(
      l,
    ),
  );
  return (hit.length > 0 ? hit.slice(0, 3) : tail.slice(-3)).join(' | ').slice(0, 300);
}

// rules:changes count as true, as GitLab counts them on a new branch: the proposal is judged on every job it has
const SKIP_VARS = [
  '--evaluate-rule-changes=false',
  '--variable',
  'CI_JOB_TOKEN=bench-job-token',
  '--variable',
  'DEPENDENCY_SCANNING_DISABLED=true',
  '--variable',
  'CONTAINER_BUILD_DISABLED=true',
];

async function evaluate(name) {
  const src = join(reposDir, name);
  const entry = byDir.get(name) ?? { repo: name.replace('__', '/'), stack: '?' };
  const row = {
    repo: entry.repo,
    commit: git(src, ['rev-parse', 'HEAD']).trim(),
    stack: entry.stack,
    detected: null,
    source: null,
    confidence: null,
    tests: null,
    proposal: false,
    preview: null,
    testJobs: [],
    test: null,
    reason: null,
    flags: [],
    own: null,
    ownReason: null,
    excluded: false,
    runnable: entry.runnable !== false,
    notRunnable: entry.runnable === false ? entry.why : null,
    genP50Ms: null,
    genP95Ms: null,
    genCpuP95Ms: null,
    cliMs: null,
    treeListings: null,
    fileReads: null,
  };
  if (entry.commit && entry.commit !== row.commit)
    row.flags.push(`checkout at ${row.commit.slice(0, 8)}, list says ${entry.commit.slice(0, 8)}`);

  // 1. generate with the CLI (JSON: the stdout may be YAML-only without --json)
  // greedy: the arm the learner's prior ranks first (Thompson sampling would pick at random among
  // untried arms, so two runs would judge different proposals)
  const gen = await sh(process.execPath, [cli, 'generate', src, '--json', '--policy', opt.policy], {
    cwd: root,
    env: { DATA_DIR: join(outDir, 'data'), LOG_LEVEL: 'silent' },
    timeout: 120_000,
  });
  row.cliMs = Math.round(gen.ms);
  let g = null;
  try {
    g = JSON.parse(gen.out.slice(gen.out.indexOf('{')));
  } catch {}
  if (!g) {
    row.preview = 'no proposal';
    row.reason = `generate exited ${gen.code}: ${reasonOf(gen.out)}`;
    return row;
  }
  const p = g.proposal === undefined ? g : g.proposal;
  row.detected = `${g.language ?? p?.language}/${g.framework ?? p?.framework}`;
  row.source = p?.source ?? g.source ?? null;
  row.confidence = p?.confidence ?? g.confidence ?? null;
  row.tests = g.tests ?? p?.tests ?? null;
  if (inProcess) {
    try {
      const t = await timeGeneration(src);
      row.genP50Ms = pct(t.samples, 50);
      row.genP95Ms = pct(t.samples, 95);
      row._samples = t.samples;
      row._cpu = t.cpu;
      row.genCpuP95Ms = pct(t.cpu, 95);
      row.treeListings = t.treeListings;
      row.fileReads = t.fileReads;
    } catch (err) {
      row.flags.push(`in-process timing failed: ${err.message}`);
    }
  }
  if (!p?.config) {
    row.preview = 'no proposal';
    row.test = 'no proposal';
    row.reason = g.searched ? `searched: ${[].concat(g.searched).join(', ')}`.slice(0, 300) : 'no config in the output';
    return row;
  }
  row.proposal = true;

  // 2. the proposal in a scratch copy; preview
  const files = { '.gitlab-ci.yml': p.config };
  if (p.dockerfile && !existsSync(join(src, 'Dockerfile'))) files.Dockerfile = p.dockerfile;
  const work = freshCopy(src, join(scratch, name), files);
  writeFileSync(join(outDir, `${name}.gitlab-ci.yml`), p.config);
  const preview = await sh(process.execPath, [GCL, '--no-color', '--preview', ...SKIP_VARS], {
    cwd: work,
    env: { FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  row.preview = preview.code === 0 ? 'ok' : `error: ${reasonOf(preview.out)}`;
  const doc = preview.code === 0 ? previewDoc(preview.out) : {};
  const jobs = Object.entries(doc).filter(
    ([k, v]) => !RESERVED.has(k) && !k.startsWith('.') && v && typeof v === 'object' && 'script' in v,
  );
  const testJobs = jobs.filter(([, v]) => (v.stage ?? 'test') === 'test');
  row.testJobs = testJobs.map(([k]) => k);
  for (const [k, v] of testJobs) if (testsNothing(v)) row.flags.push(`green-for-nothing: ${k} only echoes`);
  if (preview.code !== 0) {
    row.test = 'preview failed';
    return row;
  }
  if (testJobs.length === 0) row.test = 'no test job';

  const env = { ...venvEnv(name, imagePython(testJobs)), CI: 'true', ...(entry.env ?? {}) };
  if (opt['no-run'] || !row.runnable) {
    row.test ??= row.runnable ? 'not run' : 'not runnable';
  } else {
    for (const s of entry.services ?? []) await ensureService(s, entry.serviceSetup);
    // 3. the test jobs under the shell executor (needs: pulled in), on the shell variant of the proposal
    const variant = shellVariant(p.config);
    for (const k of variant.kinds) await ensureService(k, { databases: [] });
    for (const d of variant.databases) hostDatabase(d);
    if (variant.config !== p.config) {
      writeFileSync(join(work, '.gitlab-ci.yml'), variant.config);
      git(work, ['commit', '-q', '--no-verify', '-am', 'shell-executor variant (no image, no services)']);
      const branch = git(work, ['rev-parse', '--abbrev-ref', 'HEAD']).trim();
      git(work, ['update-ref', `refs/remotes/origin/${branch}`, 'HEAD']);
    }
    if (testJobs.length > 0) {
      log(`${name}: running ${row.testJobs.join(', ')}`);
      // --needs only for explicit needs: without them gitlab-ci-local would run every earlier stage (lint too)
      const needs = testJobs.some(([, v]) => Array.isArray(v.needs) && v.needs.length > 0) ? ['--needs'] : [];
      const r = await sh(
        process.execPath,
        // --shell-isolation: each job in its own copy of the tree, as in its own container (jobs of one stage run
        // at once, and one job's `make clean` would otherwise delete another's binaries)
        [GCL, '--no-color', '--force-shell-executor', '--shell-isolation', ...needs, ...SKIP_VARS, ...row.testJobs],
        { cwd: work, env },
      );
      writeFileSync(join(outDir, `${name}.jobs.log`), r.out);
      row.test = r.timedOut ? 'timeout' : r.code === 0 ? 'green' : 'red';
      const failed = [...r.out.matchAll(/^\s*FAIL\s+(\S+)/gm)].map((m) => m[1]);
      if (failed.some((j) => !row.testJobs.includes(j))) row.flags.push(`needed job red: ${failed.join(', ')}`);
      if (row.test !== 'green') row.reason = r.timedOut ? `over ${opt['timeout-min']} min` : reasonOf(r.out);
      // a runner that found nothing to run exits 0 on some versions (unittest before 3.12, jest --passWithNoTests)
      else if (/\bRan 0 tests\b|\bcollected 0 items\b|No tests found/i.test(r.out))
        row.flags.push('green-for-nothing: the test runner found no tests');
    }
  }
  rmSync(join(work, '.gitlab-ci-local'), { recursive: true, force: true });

  // 4. ground truth: the maintainers' own test command on the host (cached per commit)
  // only a red row can be excluded, so a green one skips the (often slow) maintainers' command unless --own-always
  const wantOwn = row.test !== 'green' || opt['own-always'];
  if (entry.own && row.runnable && wantOwn && !opt['no-own'] && !opt['no-run']) {
    const cache = join(outDir, `own-${name}-${row.commit.slice(0, 12)}.json`);
    let own = !opt['fresh-own'] && existsSync(cache) ? JSON.parse(readFileSync(cache, 'utf8')) : null;
    if (!own) {
      for (const s of entry.services ?? []) await ensureService(s, entry.serviceSetup);
      log(`${name}: maintainers' command: ${entry.own}`);
      const ownDir = freshCopy(src, join(scratch, `${name}.own`));
      const r = await sh('bash', ['-c', entry.own], { cwd: ownDir, env: { ...env, ...venvEnv(`${name}.own`) } });
      writeFileSync(join(outDir, `${name}.own.log`), r.out);
      own = {
        result: r.timedOut ? 'timeout' : r.code === 0 ? 'green' : 'red',
        reason: r.code === 0 ? null : reasonOf(r.out),
      };
      writeFileSync(cache, JSON.stringify(own));
      rmSync(ownDir, { recursive: true, force: true });
    }
    row.own = own.result;
    row.ownReason = own.reason;
    // a generated job that is red where the maintainers' command is red too says nothing about the generator
    row.excluded = own.result !== 'green' && row.test !== 'green';
  }
  return row;
}

// --report re-renders an earlier run's results.json (e.g. as markdown after a --json run) without running anything
const rows = opt.report ? JSON.parse(readFileSync(opt.report, 'utf8')) : [];
// results.json keeps the rows of earlier runs into the same --out, so one repository can be re-run with --only
const resultsFile = join(outDir, 'results.json');
const earlier = existsSync(resultsFile) && !opt.report ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
for (const name of opt.report ? [] : dirs) {
  log(`${name}`);
  try {
    const row = await evaluate(name);
    rows.push(row);
    log(`${name}: preview ${row.preview}, test ${row.test}${row.own ? `, own ${row.own}` : ''}`);
  } catch (err) {
    const e = byDir.get(name);
    rows.push({ repo: e?.repo ?? name, stack: e?.stack ?? '?', preview: `bench error: ${err.message}`, flags: [] });
  }
  const kept = earlier.filter((e) => !rows.some((r) => r.repo === e.repo));
  writeFileSync(
    resultsFile,
    JSON.stringify(
      [...kept, ...rows].sort((a, b) => a.repo.localeCompare(b.repo)),
      null,
      2,
    ),
  );
}

// ---- summary ----
const runnable = rows.filter((r) => r.runnable && r.proposal && r.testJobs?.length > 0 && !r.excluded);
const green = runnable.filter((r) => r.test === 'green' && !r.flags.some((f) => f.startsWith('green-for-nothing')));
const samples = rows.flatMap((r) => r._samples ?? []);
const cpuSamples = rows.flatMap((r) => r._cpu ?? []);
const reads = rows.map((r) => r.fileReads).filter((x) => x != null);
const summary = {
  repositories: rows.length,
  proposals: rows.filter((r) => r.proposal).length,
  previewOk: rows.filter((r) => r.preview === 'ok').length,
  runnableWithTestJob: runnable.length,
  green: green.length,
  greenShare: runnable.length ? green.length / runnable.length : null,
  excludedOwnRed: rows.filter((r) => r.excluded).length,
  notRunnable: rows.filter((r) => r.runnable === false).length,
  noTestJob: rows.filter((r) => r.test === 'no test job').length,
  greenForNothing: rows.filter((r) => r.flags?.some((f) => f.startsWith('green-for-nothing'))).length,
  generationP95Ms: pct(samples, 95),
  generationP50Ms: pct(samples, 50),
  generationCpuP95Ms: pct(cpuSamples, 95),
  fileReadsMax: reads.length ? Math.max(...reads) : null,
  fileReadsMean: reads.length ? reads.reduce((a, b) => a + b, 0) / reads.length : null,
  treeListingsMax: Math.max(0, ...rows.map((r) => r.treeListings ?? 0)),
  cli,
  node: process.version,
};
for (const r of rows) {
  delete r._samples;
  delete r._cpu;
}

if (opt.json) {
  console.log(JSON.stringify({ summary, rows }, null, 2));
} else {
  const cell = (s) =>
    String(s ?? '')
      .replaceAll('|', '\\|')
      .replaceAll('\n', ' ');
  const ms = (x) => (x == null ? '' : x.toFixed(1));
  console.log(
    '| repository | stack | detected | preview | test jobs | test | own | reason for red / notes | gen p95 ms | reads |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const notes = [r.reason, r.notRunnable, ...(r.flags ?? [])].filter(Boolean).join('; ');
    const test = r.excluded ? `${r.test} (excluded: own ${r.own})` : r.test;
    console.log(
      `| ${cell(r.repo)} | ${cell(r.stack)} | ${cell(r.detected)} | ${cell(r.preview === 'ok' ? 'ok' : r.preview)} | ${cell(r.testJobs?.join(', '))} | ${cell(test)} | ${cell(r.own ?? '')} | ${cell(notes)} | ${ms(r.genP95Ms)} | ${r.fileReads ?? ''} |`,
    );
  }
  console.log('');
  console.log(
    `**Summary**: ${summary.repositories} repositories, ${summary.proposals} proposals, ${summary.previewOk} preview ok; ` +
      `test jobs green on ${summary.green}/${summary.runnableWithTestJob} runnable repositories with a test job ` +
      `(${summary.greenShare == null ? 'n/a' : `${Math.round(summary.greenShare * 100)} %`}; ${summary.excludedOwnRed} excluded because the maintainers' own command is red too, ` +
      `${summary.notRunnable} not runnable here, ${summary.noTestJob} without a test job, ${summary.greenForNothing} green-for-nothing). ` +
      `Generation p95 ${ms(summary.generationP95Ms)} ms wall, ${ms(summary.generationCpuP95Ms)} ms CPU (in-process, local reader); GitLab reads per generation: ` +
      `${summary.treeListingsMax} tree listing, file reads mean ${summary.fileReadsMean?.toFixed(1) ?? 'n/a'}, max ${summary.fileReadsMax ?? 'n/a'}.`,
  );
}

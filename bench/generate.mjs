// Analysis + generation for every fixture repository, in-process, on the compiled code (npm run build first).
// Prints p50/p95 per phase and the GitLab API calls one generation costs (tree listing pages + file reads).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const { analyzeRepository } = await import(join(dist, 'generation', 'analyzeRepository.js'));
const { generatePipeline } = await import(join(dist, 'generation', 'generatePipeline.js'));
const { seedRuleChooser } = await import(join(dist, 'generation', 'seedRuleChooser.js'));
const { LocalRepoReader } = await import(join(dist, 'repo', 'LocalRepoReader.js'));
const { GitLabRepoReader } = await import(join(dist, 'repo', 'GitLabRepoReader.js'));

const fixtures = join(root, 'test', 'fixtures', 'repos');
const names = readdirSync(fixtures).filter((n) => statSync(join(fixtures, n)).isDirectory());
const ITER = Number(process.env.BENCH_ITERATIONS ?? 50);
const deps = { chooser: seedRuleChooser, learnStage: { component: null, serviceUrl: 'https://learner.example.com' } };

function filesOf(dir, prefix = '') {
  const out = {};
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) Object.assign(out, filesOf(dir, rel));
    else out[rel] = readFileSync(join(dir, rel), 'utf8');
  }
  return out;
}

/** Our GitLab interface in memory, counting what a real client would send (100 entries per tree page). */
function countingGitLab(files) {
  const calls = { treePages: 0, fileReads: 0 };
  return {
    calls,
    gitlab: {
      async tree() {
        const entries = Object.keys(files).map((path) => ({ path, type: 'blob' }));
        calls.treePages += Math.max(1, Math.ceil(entries.length / 100));
        return entries;
      },
      async fileRaw(_p, path) {
        calls.fileReads++;
        return files[path] ?? null;
      },
    },
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(2)} ms`;

const local = { analysis: [], generation: [] };
const remote = { generation: [] };
const perFixture = [];
for (const name of names) {
  const files = filesOf(join(fixtures, name));
  // warm-up
  await generatePipeline({ reader: new LocalRepoReader(join(fixtures, name)), tenant: 'local' }, deps);
  const gen = [];
  for (let i = 0; i < ITER; i++) {
    let t = performance.now();
    await analyzeRepository(new LocalRepoReader(join(fixtures, name)));
    local.analysis.push(performance.now() - t);
    t = performance.now();
    await generatePipeline({ reader: new LocalRepoReader(join(fixtures, name)), tenant: 'local' }, deps);
    const d = performance.now() - t;
    local.generation.push(d);
    gen.push(d);
    const { gitlab } = countingGitLab(files);
    t = performance.now();
    await generatePipeline({ reader: new GitLabRepoReader(gitlab, 'acme/app', 'main'), tenant: 'acme' }, deps);
    remote.generation.push(performance.now() - t);
  }
  const { gitlab, calls } = countingGitLab(files);
  const g = await generatePipeline({ reader: new GitLabRepoReader(gitlab, 'acme/app', 'main'), tenant: 'acme' }, deps);
  perFixture.push({ name, stack: `${g.language}/${g.framework}`, p50: pct(gen, 50), p95: pct(gen, 95), ...calls });
}

console.log(
  `pipeline-learner generation benchmark: ${names.length} fixtures × ${ITER} iterations, node ${process.version}\n`,
);
console.log('fixture                 stack                 p50 gen    p95 gen    tree pages  file reads');
for (const f of perFixture) {
  console.log(
    `${f.name.padEnd(23)} ${f.stack.padEnd(21)} ${ms(f.p50).padStart(9)}  ${ms(f.p95).padStart(9)}  ${String(f.treePages).padStart(10)}  ${String(f.fileReads).padStart(10)}`,
  );
}
console.log('');
console.log(`analysis only (local dir)      p50 ${ms(pct(local.analysis, 50))}  p95 ${ms(pct(local.analysis, 95))}`);
console.log(
  `analysis + generation (local)  p50 ${ms(pct(local.generation, 50))}  p95 ${ms(pct(local.generation, 95))}`,
);
console.log(
  `analysis + generation (GitLab reader, in-memory API) p50 ${ms(pct(remote.generation, 50))}  p95 ${ms(pct(remote.generation, 95))}`,
);
const maxReads = Math.max(...perFixture.map((f) => f.fileReads));
const meanReads = perFixture.reduce((s, f) => s + f.fileReads, 0) / perFixture.length;
console.log(
  `GitLab API calls per generation: 1 tree listing (${Math.max(...perFixture.map((f) => f.treePages))} page max) + file reads mean ${meanReads.toFixed(1)}, max ${maxReads} (aim ≤ 8)`,
);
console.log(`aim p95 < 50 ms: ${pct(local.generation, 95) < 50 ? 'met' : 'NOT met'}`);

// Learner benchmark: choice latency with propensities (100 and 1,000 arms, subsampled Thompson sampling
// included), update cost, the regret of every policy on the shipped scenarios, and issue 11's aims
// (Thompson ≤ 0.5× greedy summed and ≤ 1.1× the best other policy per scenario; runs to find the best
// configuration with failure attribution (reward v2) against green/red only (v1)). Prints figures;
// asserts nothing. The offline-evaluation coverage check is bench/offline-coverage.mjs.
// Run: npm run bench:learner   (builds dist/ first)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LEARNER_DIST ?? join(here, '..', 'dist');
const load = (m) => import(pathToFileURL(join(dist, 'learning', m)).href);
const { POLICIES, THOMPSON_VARIANTS } = await load('policies.js');
// BENCH_THOMPSON_VARIANTS=1 also measures the Thompson sampling variants (uniform subsets, issue 11's pinned design)
const variants = process.env.BENCH_THOMPSON_VARIANTS === '1' ? THOMPSON_VARIANTS : undefined;
const latencyPolicies = { thompson: POLICIES.thompson, ...(variants ?? {}) };
const { createRng } = await load('Rng.js');
const { addRun, emptyArm } = await load('posterior.js');
const { DEFAULT_LEARNER_OPTIONS } = await load('LearnerOptions.js');
const { parseScenario, simulate } = await load('simulate.js');

function arms(k, shape, rng) {
  return Array.from({ length: k }, (_, i) => {
    let alpha = 2;
    let beta = 1;
    if (shape === 'mature') {
      const n = 5 + Math.floor(rng.next() * 60);
      const p = 0.5 + 0.45 * rng.next();
      alpha += p * n;
      beta += (1 - p) * n;
    } else if (shape === 'young') {
      const n = Math.floor(rng.next() * 4);
      const s = Math.floor(rng.next() * (n + 1));
      alpha += s;
      beta += n - s;
    }
    return {
      hash: i.toString(16).padStart(64, '0'),
      source: 'template',
      alpha,
      beta,
      successes: alpha - 2,
      failures: beta - 1,
      pulls: Math.round(alpha + beta - 3),
      durationS: 120 + Math.floor(rng.next() * 1800),
      stagesCount: 2 + Math.floor(rng.next() * 8),
    };
  });
}

function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const { subsetSize } = await load('policies.js');
console.log('choice with full propensity vector (Thompson, numerical integration; exact subsampled propensities)');
for (const [policyName, policy] of Object.entries(latencyPolicies)) {
  console.log(`${policyName}: arms   posteriors   context runs   subset   median ms   p95 ms`);
  for (const k of [10, 100, 1000]) {
    for (const shape of ['cold', 'young', 'mature']) {
      for (const runs of [100, 10_000]) {
        const rng = createRng(k);
        const set = arms(k, shape, rng);
        const times = [];
        for (let i = 0; i < 5; i++) policy.choose(set, runs, rng);
        const reps = k >= 1000 ? 40 : 200;
        for (let i = 0; i < reps; i++) {
          const t = process.hrtime.bigint();
          policy.choose(set, runs, rng);
          times.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        const m = k < 12 ? k : subsetSize(k, runs);
        console.log(
          `${String(k).padStart(4)}   ${shape.padEnd(10)}   ${String(runs).padStart(12)}   ${String(m).padStart(6)}   ${percentile(times, 0.5).toFixed(2).padStart(9)}   ${percentile(times, 0.95).toFixed(2).padStart(6)}`,
        );
      }
    }
  }
}

{
  let arm = emptyArm('h', 'template');
  const n = 1_000_000;
  const t = process.hrtime.bigint();
  for (let i = 1; i <= n; i++) {
    arm = addRun(
      arm,
      { hash: 'h', slot: i, success: (i & 3) !== 0, durationS: 300, stagesCount: 4 },
      DEFAULT_LEARNER_OPTIONS,
    );
  }
  const ns = Number(process.hrtime.bigint() - t) / n;
  console.log(`\nposterior update: ${ns.toFixed(0)} ns per run (O(1), lazy discounting)`);
}

const scenarios = join(here, 'scenarios');
const halfLife = Number(process.env.PIPELINE_LEARNER_HALF_LIFE_RUNS ?? DEFAULT_LEARNER_OPTIONS.halfLifeRuns);
console.log(`\nregret on the shipped scenarios (half-life ${halfLife} runs; means over repetitions; reward v2)`);
const reps = process.env.BENCH_REPETITIONS ? Number(process.env.BENCH_REPETITIONS) : 30;
let sumThompson = 0;
let sumGreedy = 0;
const perScenario = [];
const variantSums = Object.fromEntries(Object.keys(variants ?? {}).map((n) => [n, 0]));
const variantWorst = Object.fromEntries(Object.keys(variants ?? {}).map((n) => [n, []]));
for (const f of readdirSync(scenarios)
  .filter((x) => x.endsWith('.json'))
  .sort()) {
  const s = { ...parseScenario(JSON.parse(readFileSync(join(scenarios, f), 'utf8'))), repetitions: reps };
  const options = { ...DEFAULT_LEARNER_OPTIONS, halfLifeRuns: halfLife };
  const r = simulate(s, options, 'v2', variants);
  const p = r.policies;
  sumThompson += p.thompson.regret;
  sumGreedy += p.greedy.regret;
  const bestOther = Math.min(p.greedy.regret, p.epsilon_greedy.regret, p.ucb1.regret);
  perScenario.push([f, p.thompson.regret / Math.max(bestOther, 1e-9)]);
  console.log(
    `\n${f} (${s.rounds} rounds × ${s.repetitions})  oracle success ${(100 * r.oracle_success_rate).toFixed(1)}%`,
  );
  for (const [name, v] of Object.entries(p)) {
    console.log(
      `  ${name.padEnd(14)} regret ${v.regret.toFixed(1).padStart(7)}  success ${(100 * v.success_rate).toFixed(1)}%  recovery runs ${v.recovery_runs.toFixed(1)}`,
    );
  }
  for (const [name, v] of Object.entries(r.variants ?? {})) {
    variantSums[name] += v.regret;
    const ratio = v.regret / Math.max(bestOther, 1e-9);
    if (ratio > 1.1) variantWorst[name].push(`${f} (${ratio.toFixed(2)})`);
    console.log(
      `  ${name.padEnd(22)} regret ${v.regret.toFixed(1).padStart(7)}  success ${(100 * v.success_rate).toFixed(1)}%  /greedy ${(v.regret / p.greedy.regret).toFixed(2)}  /best other ${ratio.toFixed(2)}`,
    );
  }
  console.log(
    `  thompson/greedy ${(p.thompson.regret / p.greedy.regret).toFixed(2)}   thompson/best other ${(p.thompson.regret / Math.max(bestOther, 1e-9)).toFixed(2)} (aim ≤ 1.1)   runs to best: thompson ${p.thompson.runs_to_best.toFixed(0)}`,
  );
  if (f === 'code-failures.json' || f === 'no-tests.json' || f === 'runner-outages.json') {
    const v1 = simulate(s, options, 'v1');
    console.log(
      `  reward v1 (green/red only): thompson regret ${v1.policies.thompson.regret.toFixed(1)}, runs to best ${v1.policies.thompson.runs_to_best.toFixed(0)}  vs v2 ${p.thompson.runs_to_best.toFixed(0)}`,
    );
  }
}
console.log(
  `\nsummed over the scenarios: thompson ${sumThompson.toFixed(1)}, greedy ${sumGreedy.toFixed(1)}, ratio ${(sumThompson / sumGreedy).toFixed(2)} (aim ≤ 0.5)`,
);
console.log(
  `scenarios where thompson > 1.1× the best other policy: ${
    perScenario
      .filter(([, x]) => x > 1.1)
      .map(([f, x]) => `${f} (${x.toFixed(2)})`)
      .join(', ') || 'none'
  }`,
);
for (const [name, sum] of Object.entries(variantSums)) {
  console.log(
    `variant ${name}: summed ${sum.toFixed(1)}, ratio to greedy ${(sum / sumGreedy).toFixed(2)} (aim ≤ 0.5); scenarios > 1.1× the best other: ${variantWorst[name].join(', ') || 'none'}`,
  );
}

// Learner benchmark: choice latency with propensities (100 and 1,000 arms), update cost, and the
// regret of every policy on the shipped scenarios. Prints figures; asserts nothing.
// Run: npm run bench:learner   (builds dist/ first)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LEARNER_DIST ?? join(here, '..', 'dist');
const load = (m) => import(pathToFileURL(join(dist, 'learning', m)).href);
const { POLICIES } = await load('policies.js');
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

console.log('choice with full propensity vector (Thompson, numerical integration)');
console.log('arms   posteriors   median ms   p95 ms');
for (const k of [10, 100, 1000]) {
  for (const shape of ['cold', 'young', 'mature']) {
    const rng = createRng(k);
    const set = arms(k, shape, rng);
    const times = [];
    for (let i = 0; i < 5; i++) POLICIES.thompson.choose(set, 100, rng);
    const reps = k >= 1000 ? 40 : 200;
    for (let i = 0; i < reps; i++) {
      const t = process.hrtime.bigint();
      POLICIES.thompson.choose(set, 100, rng);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    console.log(
      `${String(k).padStart(4)}   ${shape.padEnd(10)}   ${percentile(times, 0.5).toFixed(2).padStart(9)}   ${percentile(times, 0.95).toFixed(2).padStart(6)}`,
    );
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
console.log(`\nregret on the shipped scenarios (half-life ${halfLife} runs; means over repetitions)`);
for (const f of readdirSync(scenarios)
  .filter((x) => x.endsWith('.json'))
  .sort()) {
  const s = parseScenario(JSON.parse(readFileSync(join(scenarios, f), 'utf8')));
  const r = simulate(s, { ...DEFAULT_LEARNER_OPTIONS, halfLifeRuns: halfLife });
  const p = r.policies;
  console.log(
    `\n${f} (${s.rounds} rounds × ${s.repetitions})  oracle success ${(100 * r.oracle_success_rate).toFixed(1)}%`,
  );
  for (const [name, v] of Object.entries(p)) {
    console.log(
      `  ${name.padEnd(14)} regret ${v.regret.toFixed(1).padStart(7)}  success ${(100 * v.success_rate).toFixed(1)}%  recovery runs ${v.recovery_runs.toFixed(1)}`,
    );
  }
  console.log(
    `  thompson/greedy ${(p.thompson.regret / p.greedy.regret).toFixed(2)} (aim ≤ 0.5)   thompson/ε-greedy ${(p.thompson.regret / p.epsilon_greedy.regret).toFixed(2)} (aim ≤ 0.8)`,
  );
}

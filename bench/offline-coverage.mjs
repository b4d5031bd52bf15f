// Offline-evaluation check (issue 11): in simulation the true value of a target policy on the logged
// contexts (mean over them of Σₐ π(a|x)·μ(a|x)) is known, so the 95 % bootstrap intervals of IPS and SNIPS
// should hold it in about 95 % of independent logging runs. Prints the coverage; asserts nothing.
// Run: npm run build && node bench/offline-coverage.mjs [replications]
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LEARNER_DIST ?? join(here, '..', 'dist');
const load = (m) => import(pathToFileURL(join(dist, 'learning', m)).href);
const { parseScenario } = await load('simulate.js');
const { offlineCoverage } = await load('offlineCoverage.js');

const replications = Number(process.argv[2] ?? 200);
const scenario = parseScenario({
  name: 'offline-coverage',
  description: 'Three configurations, code failures and a runner that sometimes fails; 300 logged choices.',
  seed: 11,
  rounds: 300,
  contexts: [
    {
      language: 'go',
      arms: [
        { id: 'good', source: 'template', p_success: 0.85, duration_s: 400, tests: 120, p_code_failure: 0.2 },
        { id: 'fast', source: 'default', p_success: 0.75, duration_s: 150, tests: 40, p_flaky: 0.1 },
        { id: 'no-tests', source: 'default', p_success: 0.95, duration_s: 100, tests: 0, p_runner_failure: 0.05 },
      ],
    },
  ],
});

console.log(
  `offline-evaluation coverage: ${replications} replications × ${scenario.rounds} logged choices, 95 % bootstrap`,
);
console.log('logging        target          decisions   ESS     IPS cover  bias     SNIPS cover  bias');
for (const [logging, target] of [
  ['epsilon_greedy', 'thompson'],
  ['thompson', 'greedy'],
  ['thompson', 'epsilon_greedy'],
]) {
  const r = offlineCoverage(scenario, { logging, target, replications, bootstrap: 1000 });
  const pct = (x) => `${(100 * x).toFixed(1)}%`.padStart(9);
  console.log(
    `${logging.padEnd(14)} ${target.padEnd(15)} ${r.meanDecisions.toFixed(0).padStart(9)} ${r.meanEffectiveSampleSize.toFixed(0).padStart(5)}  ${pct(r.ips.coverage)} ${r.ips.bias.toFixed(4).padStart(8)}  ${pct(r.snips.coverage)}   ${r.snips.bias.toFixed(4).padStart(8)}`,
  );
}

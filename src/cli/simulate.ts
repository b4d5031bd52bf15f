import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { UserFacingError } from '../errors.js';
import { learnerOptionsFrom } from '../learning/LearnerOptions.js';
import { parseScenario, simulate } from '../learning/simulate.js';

export const help = `Usage: pipeline-learner simulate --scenario <file|-> [--json] [--half-life <runs>] [--reward v1|v2]

Runs the four base policies (thompson, greedy, epsilon_greedy, ucb1) on a simulated scenario and reports
cumulative regret (with the reward formula, durations included), the realised success rate and how
many times each policy still chose an arm after it broke. The learner settings come from the
environment (PIPELINE_LEARNER_HALF_LIFE_RUNS, PIPELINE_LEARNER_BROKEN_AFTER_FAILURES, …);
--half-life overrides the half-life. --reward v1 makes the learner see only green or red (no failure
attribution), for comparison; the default, v2, lets it see the attribution. runs_to_best: rounds of the
first context until the best arm holds 90 % of the next 100 choices. Example scenarios:
bench/scenarios/*.json.

Scenario: {"seed": 42, "rounds": 2000, "repetitions": 20, "contexts": [{"language": "go",
  "framework": "generic", "weight": 1, "arms": [{"id": "a", "source": "default", "p_success": 0.7,
  "duration_s": 300, "stages_count": 5, "breaks_at": 800, "p_after": 0.1}]}]}
("repetitions", "stages_count", "breaks_at" and "p_after" are optional; figures are means over repetitions.)
Optional per arm: "tests" (0 = runs no test), "p_code_failure" (tests fail although the configuration
works), "p_runner_failure" (the runner loses the job), "p_flaky" (green only after a retry); per context:
"runner_outages": [{"start": 20, "end": 60}] (context rounds during which every job is lost).
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { scenario?: string; json?: boolean; 'half-life'?: string; reward?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        json: { type: 'boolean', default: false },
        'half-life': { type: 'string' },
        reward: { type: 'string', default: 'v2' },
      },
    }));
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  if (!values.scenario) throw new UserFacingError(`--scenario is required\n\n${help}`, { exitCode: 2 });
  if (values.reward !== 'v1' && values.reward !== 'v2') {
    throw new UserFacingError('--reward must be v1 or v2', { exitCode: 2 });
  }
  const mode = values.reward;
  const options = learnerOptionsFrom(loadConfig(io.env).learner);
  if (values['half-life'] !== undefined) {
    const h = Number(values['half-life']);
    if (!(h > 0)) throw new UserFacingError('--half-life must be a positive number of runs', { exitCode: 2 });
    options.halfLifeRuns = h;
  }
  let text: string;
  try {
    text = values.scenario === '-' ? await io.readStdin() : await readFile(resolve(io.cwd, values.scenario), 'utf8');
  } catch (err) {
    throw new UserFacingError(`cannot read ${values.scenario}: ${(err as Error).message}`, { exitCode: 2 });
  }
  let scenario: ReturnType<typeof parseScenario>;
  try {
    scenario = parseScenario(JSON.parse(text));
  } catch (err) {
    const msg =
      err && typeof err === 'object' && 'issues' in err
        ? (err as { issues: { path: PropertyKey[]; message: string }[] }).issues
            .map((i) => `  ${i.path.join('.')}: ${i.message}`)
            .join('\n')
        : (err as Error).message;
    throw new UserFacingError(`invalid scenario ${values.scenario}:\n${msg}`, { exitCode: 2 });
  }
  const result = simulate(scenario, options, mode);
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
    return 0;
  }
  io.stdout(
    `${scenario.name ?? values.scenario}: ${result.rounds} rounds × ${result.repetitions} repetition(s), half-life ${options.halfLifeRuns} runs\n\n`,
  );
  io.stdout('policy          regret   success  recovery runs  runs to best\n');
  for (const [name, p] of Object.entries(result.policies)) {
    io.stdout(
      `${name.padEnd(14)}  ${p.regret.toFixed(1).padStart(7)}  ${(100 * p.success_rate).toFixed(1).padStart(6)}%  ${p.recovery_runs.toFixed(1).padStart(13)}  ${p.runs_to_best.toFixed(0).padStart(12)}\n`,
    );
  }
  io.stdout(`oracle          ${'0.0'.padStart(7)}  ${(100 * result.oracle_success_rate).toFixed(1).padStart(6)}%\n`);
  const shares = Object.entries(result.outcomes)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`)
    .join(', ');
  io.stdout(`\nthompson's runs by attribution (reward ${result.reward}): ${shares}\n`);
  return 0;
}

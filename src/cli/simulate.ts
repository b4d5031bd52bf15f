import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { UserFacingError } from '../errors.js';
import { learnerOptionsFrom } from '../learning/LearnerOptions.js';
import { parseScenario, simulate } from '../learning/simulate.js';

export const help = `Usage: pipeline-learner simulate --scenario <file|-> [--json] [--half-life <runs>]

Runs every policy (thompson, greedy, epsilon_greedy, ucb1) on a simulated scenario and reports
cumulative regret (with the reward formula, durations included), the realised success rate and how
many times each policy still chose an arm after it broke. The learner settings come from the
environment (PIPELINE_LEARNER_HALF_LIFE_RUNS, PIPELINE_LEARNER_BROKEN_AFTER_FAILURES, …);
--half-life overrides the half-life. Example scenarios: bench/scenarios/*.json.

Scenario: {"seed": 42, "rounds": 2000, "repetitions": 20, "contexts": [{"language": "go",
  "framework": "generic", "weight": 1, "arms": [{"id": "a", "source": "default", "p_success": 0.7,
  "duration_s": 300, "stages_count": 5, "breaks_at": 800, "p_after": 0.1}]}]}
("repetitions", "stages_count", "breaks_at" and "p_after" are optional; figures are means over repetitions.)
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { scenario?: string; json?: boolean; 'half-life'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        json: { type: 'boolean', default: false },
        'half-life': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  if (!values.scenario) throw new UserFacingError(`--scenario is required\n\n${help}`, { exitCode: 2 });
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
  const result = simulate(scenario, options);
  if (values.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
    return 0;
  }
  io.stdout(
    `${scenario.name ?? values.scenario}: ${result.rounds} rounds × ${result.repetitions} repetition(s), half-life ${options.halfLifeRuns} runs\n\n`,
  );
  io.stdout('policy          regret   success  recovery runs\n');
  for (const [name, p] of Object.entries(result.policies)) {
    io.stdout(
      `${name.padEnd(14)}  ${p.regret.toFixed(1).padStart(7)}  ${(100 * p.success_rate).toFixed(1).padStart(6)}%  ${p.recovery_runs.toFixed(1).padStart(13)}\n`,
    );
  }
  io.stdout(`oracle          ${'0.0'.padStart(7)}  ${(100 * result.oracle_success_rate).toFixed(1).padStart(6)}%\n`);
  return 0;
}

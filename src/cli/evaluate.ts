import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { UserFacingError } from '../errors.js';
import { type DecisionRecord, decisionFromJsonLine } from '../learning/DecisionRecord.js';
import { evaluateOffline } from '../learning/offlineEvaluation.js';
import { isPolicyName, POLICIES, POLICY_NAMES } from '../learning/policies.js';
import { withLearner } from './learner.js';

export const help = `Usage: pipeline-learner evaluate --policy <${POLICY_NAMES.join('|')}> [--input <file.jsonl|->]
                                 [--tenant <t>] [--bootstrap <n>] [--json]

Estimates what a policy would have earned on the logged decisions (those with a reward, forced
ones excluded): inverse propensity scoring (IPS) and self-normalised IPS, each with a 95 % percentile
bootstrap interval (default 1000 resamples, fixed seed). Reads the store's decision log, or an
exported file (\`pipeline-learner decisions export\`) with --input.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { policy?: string; input?: string; tenant?: string; bootstrap?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        policy: { type: 'string' },
        input: { type: 'string' },
        tenant: { type: 'string' },
        bootstrap: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  const name = values.policy ?? '';
  if (!isPolicyName(name)) {
    throw new UserFacingError(`--policy must be one of ${POLICY_NAMES.join(', ')}`, { exitCode: 2 });
  }
  const bootstrap = values.bootstrap === undefined ? 1000 : Number(values.bootstrap);
  if (!Number.isInteger(bootstrap) || bootstrap < 0) {
    throw new UserFacingError('--bootstrap must be a whole number', { exitCode: 2 });
  }
  let decisions: DecisionRecord[];
  if (values.input) {
    let text: string;
    try {
      text = values.input === '-' ? await io.readStdin() : await readFile(resolve(io.cwd, values.input), 'utf8');
    } catch (err) {
      throw new UserFacingError(`cannot read ${values.input}: ${(err as Error).message}`, { exitCode: 2 });
    }
    decisions = [];
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        decisions.push(decisionFromJsonLine(line));
      } catch (err) {
        throw new UserFacingError(`${values.input}:${i + 1}: ${(err as Error).message}`, { exitCode: 2 });
      }
    }
    if (values.tenant) decisions = decisions.filter((d) => d.context.tenant === values.tenant);
  } else {
    decisions = await withLearner(io, 'evaluate', (l) => l.decisions({ tenant: values.tenant }));
  }
  const r = evaluateOffline(decisions, POLICIES[name], { bootstrap });
  if (values.json) {
    io.stdout(`${JSON.stringify(r)}\n`);
    // stdout stays one JSON document; the warning (also in r.warnings) goes to stderr as in text mode
    for (const w of r.warnings) io.stderr(`warning: ${w}\n`);
    return 0;
  }
  if (r.decisions === 0) {
    io.stdout('no rewarded decisions to evaluate yet (rewards arrive when the chosen pipelines finish)\n');
    return 0;
  }
  const f = (x: number) => x.toFixed(4);
  io.stdout(
    `policy ${r.policy} on ${r.decisions} rewarded decision(s)\n` +
      `  logged policy mean reward  ${f(r.logged)}\n` +
      `  IPS                        ${f(r.ips.value)}  [${f(r.ips.low)}, ${f(r.ips.high)}]\n` +
      `  self-normalised IPS        ${f(r.snips.value)}  [${f(r.snips.low)}, ${f(r.snips.high)}]\n` +
      `  mean importance weight     ${f(r.meanWeight)}\n` +
      `  effective sample size      ${r.effectiveSampleSize.toFixed(1)}\n`,
  );
  for (const w of r.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}

import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { UserFacingError } from '../errors.js';
import { decisionToJsonLine } from '../learning/DecisionRecord.js';
import { withLearner } from './learner.js';

export const help = `Usage: pipeline-learner decisions export [--tenant <t>] [--policy <name>] [--since <ISO date>]

Prints the decision log as JSON lines (format "pipeline-learner.decision/1", documented in the README):
one object per decision with the context, every eligible arm with its hash, posterior and probability,
the chosen arm, explore/exploit/forced, and — once its pipeline finished — the reward parts and the
reward-formula version.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      allowPositionals: true;
      options: { tenant: { type: 'string' }; policy: { type: 'string' }; since: { type: 'string' } };
    }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { tenant: { type: 'string' }, policy: { type: 'string' }, since: { type: 'string' } },
    });
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'export') {
    throw new UserFacingError(`expected \`decisions export\`\n\n${help}`, { exitCode: 2 });
  }
  if (values.since && Number.isNaN(Date.parse(values.since))) {
    throw new UserFacingError(`--since ${values.since} is not a date`, { exitCode: 2 });
  }
  return withLearner(io, 'decisions', async (l) => {
    const decisions = await l.decisions({ tenant: values.tenant, policy: values.policy, since: values.since });
    for (const d of decisions) io.stdout(`${decisionToJsonLine(d)}\n`);
    return 0;
  });
}

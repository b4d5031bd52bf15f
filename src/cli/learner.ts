import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { forgetRecorded } from '../db/forgetRecorded.js';
import type { Store } from '../db/openDatabase.js';
import { UserFacingError } from '../errors.js';
import type { Learner } from '../learning/Learner.js';
import { type Domain, withDomain } from '../main.js';
import { COLLECTIONS, type Where } from '../vectors/VectorIndex.js';

export const help = `Usage: pipeline-learner learner <action>

Operator actions on what the learner knows.

  ban <hash> [--reason <text>]    take a configuration (12+ hex of its hash) out of every candidate set
  unban <hash>                    allow it again
  bans                            list banned configurations
  forget --project <path>         delete a project's data: learner evidence (posteriors are rebuilt),
                                  recorded runs, stored deliveries, proposals, vector records
  forget --tenant <tenant>        the same for every project of a tenant (decisions and feedback too)
  arms --language <l> [--framework <f>] [--tenant <t>] [--json]
                                  configurations of a stack, best first, with 90 % credible intervals
  failures [--tenant <t>] [--language <l>] [--framework <f>] [--hash <hash>] [--json]
                                  job-level failure statistics (stage, failure_reason)

With the embedded store, stop \`serve\` first (one process at a time); with DATABASE_URL it can run
beside the service.
`;

/** Opens the configured store, migrates it, and hands the learner (and the rest of the domain) to `fn`. */
export async function withLearner<T>(
  io: CliIo,
  command: string,
  fn: (learner: Learner, domain: Domain, store: Store) => Promise<T>,
): Promise<T> {
  return withDomain(loadConfig(io.env), command, (domain, store) => fn(domain.learner, domain, store));
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        reason: { type: 'string' },
        project: { type: 'string' },
        tenant: { type: 'string' },
        language: { type: 'string' },
        framework: { type: 'string' },
        hash: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv);
  const [verb, ...args] = positionals;
  if (!verb) throw new UserFacingError(help, { exitCode: 2 });
  const one = (what: string) => {
    if (args.length !== 1) throw new UserFacingError(`${verb} needs exactly one ${what}`, { exitCode: 2 });
    return args[0];
  };
  if (verb === 'ban') {
    const hash = one('hash');
    return withLearner(io, 'learner', async (l) => {
      await l.ban(hash, values.reason ?? null);
      io.stdout(`banned ${hash}: it leaves every candidate set.\nundo with: pipeline-learner learner unban ${hash}\n`);
      return 0;
    });
  }
  if (verb === 'unban') {
    const hash = one('hash');
    return withLearner(io, 'learner', async (l) => {
      if (await l.unban(hash)) {
        io.stdout(`unbanned ${hash}\n`);
        return 0;
      }
      io.stderr(`${hash} was not banned (see: pipeline-learner learner bans)\n`);
      return 1;
    });
  }
  if (verb === 'bans') {
    return withLearner(io, 'learner', async (l) => {
      const bans = await l.bans();
      if (values.json) for (const b of bans) io.stdout(`${JSON.stringify(b)}\n`);
      else if (bans.length === 0) io.stdout('no banned configurations\n');
      else for (const b of bans) io.stdout(`${b.hash}  ${b.at}  ${b.reason ?? ''}\n`);
      return 0;
    });
  }
  if (verb === 'forget') {
    if (args.length) throw new UserFacingError(`unexpected argument ${args[0]}`, { exitCode: 2 });
    if (!values.project === !values.tenant) {
      throw new UserFacingError('forget needs exactly one of --project <path> or --tenant <tenant>', { exitCode: 2 });
    }
    return withLearner(io, 'learner', async (l, domain, store) => {
      const target = values.project ? { projectPath: values.project } : { tenant: values.tenant! };
      const { runs } = await l.forget(target);
      const recorded = await forgetRecorded(store.db, target);
      const where: Where = values.project
        ? { project: values.project }
        : { tenant: values.tenant!.trim().toLowerCase() };
      for (const collection of [COLLECTIONS.successful, COLLECTIONS.feedback]) {
        await domain.vectors.delete(collection, { where });
      }
      io.stdout(
        `forgot ${values.project ? `project ${values.project}` : `tenant ${values.tenant}`}: ` +
          `${runs} learner run(s), ${recorded.runs} recorded pipeline run(s), ${recorded.deliveries} stored deliveries, ` +
          `${recorded.configurations} configuration(s), ${recorded.proposals} proposal(s), and their vector records\n`,
      );
      return 0;
    });
  }
  if (verb === 'arms') {
    if (!values.language) throw new UserFacingError('arms needs --language', { exitCode: 2 });
    return withLearner(io, 'learner', async (l) => {
      const arms = await l.arms({
        tenant: values.tenant ?? null,
        language: values.language!,
        framework: values.framework ?? 'generic',
      });
      if (values.json) {
        for (const a of arms) io.stdout(`${JSON.stringify(a)}\n`);
        return 0;
      }
      if (arms.length === 0) {
        io.stdout('no configuration has run for this stack yet\n');
        return 0;
      }
      io.stdout('hash          source    runs  success  mean    90% interval     flags\n');
      for (const a of arms) {
        const flags = [a.broken && 'broken', a.banned && 'banned', a.gated && 'proven'].filter(Boolean).join(',');
        io.stdout(
          `${a.hash.slice(0, 12)}  ${a.source.padEnd(8)}  ${String(a.runs).padStart(4)}  ${String(a.successes).padStart(7)}  ${pct(a.mean).padStart(6)}  ${pct(a.low).padStart(6)} – ${pct(a.high).padStart(6)}  ${flags}\n`,
        );
      }
      return 0;
    });
  }
  if (verb === 'failures') {
    return withLearner(io, 'learner', async (l) => {
      const stats = await l.failureStats({
        tenant: values.tenant,
        language: values.language,
        framework: values.framework,
        configHash: values.hash,
      });
      if (values.json) for (const s of stats) io.stdout(`${JSON.stringify(s)}\n`);
      else if (stats.length === 0) io.stdout('no failed jobs recorded\n');
      else
        for (const s of stats)
          io.stdout(
            `${String(s.count).padStart(5)}  ${s.configHash.slice(0, 12)}  ${s.stage}/${s.jobName}  ${s.failureReason ?? 'unknown'}${s.allowFailure ? ' (allowed to fail)' : ''}\n`,
          );
      return 0;
    });
  }
  throw new UserFacingError(`unknown learner action "${verb}"\n\n${help}`, { exitCode: 2 });
}

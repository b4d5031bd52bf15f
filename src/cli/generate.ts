import { access, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { DataDirLockedError } from '../db/DataDirLock.js';
import { errorMessage, UserFacingError } from '../errors.js';
import {
  type GenerateDeps,
  type Generation,
  generatePipeline,
  toGenerationJson,
} from '../generation/generatePipeline.js';
import { NoProposalError } from '../generation/honestTests.js';
import { PriorChooser } from '../learning/PriorChooser.js';
import { withDomain } from '../main.js';
import { LocalRepoReader } from '../repo/LocalRepoReader.js';

export const help = `Usage: pipeline-learner generate <dir> [--json] [--write [--force]] [--language L] [--framework F]

Proposes a .gitlab-ci.yml (and a Dockerfile when the pipeline builds an image and the
repository has none) for a local checkout, with the detection evidence, the source of the
configuration (reinforcement_learning, template, default) and a confidence.

  --json            print {language, framework, evidence, source, confidence, config, dockerfile?}
  --write           write .gitlab-ci.yml (and Dockerfile) into <dir>
  --force           with --write, overwrite existing files
  --language L      override the detected language (slug, e.g. python)
  --framework F     override the detected framework (slug, e.g. django)
  --policy P        learner policy (when the learner is available)

Nothing is written and nothing is sent over the network unless --write is given.
Environment: LEARN_COMPONENT (include the learn component instead of an inline job),
PUBLIC_URL (baked into the inline learn job).
`;

/** Everything `generate` needs besides the directory; the composition root supplies the store-backed ones. */
export type GenerateCliDeps = Omit<GenerateDeps, 'learnStage'> & {
  /** printed to stderr before the result, e.g. "store busy: going on without learned candidates" */
  notices?: string[];
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function explain(g: Generation): string {
  const lines = [
    `# language:   ${g.language}${g.analysis.typescript ? ' (TypeScript)' : ''}`,
    `# framework:  ${g.framework}`,
    `# source:     ${g.source} (${g.label})`,
    `# confidence: ${g.confidence.toFixed(2)}${g.untested ? ' (uninformed start: Beta(1,1))' : ''}`,
    `# tests:      ${g.tests.length > 0 ? g.tests.join('; ') : 'none: no tests found, so the proposal has no test job'}`,
    `# hash:       ${g.hash.slice(0, 12)}`,
    '# evidence:',
    ...g.evidence.map((e) => `#   ${e.fact} ← ${e.file}: ${e.detail}`),
  ];
  if (g.analysis.subprojects.length > 0)
    lines.push(`# sub-projects: ${g.analysis.subprojects.map((s) => `${s.path} (${s.language})`).join(', ')}`);
  const rejected = g.candidatesTried.filter((t) => !t.ok);
  for (const r of rejected) lines.push(`# rejected ${r.label}: ${r.errors.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

export async function runGenerate(argv: string[], io: CliIo, deps: GenerateCliDeps): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UserFacingError(`expected one directory\n\n${help}`, { exitCode: 2 });
  if (values.force && !values.write)
    throw new UserFacingError('--force only makes sense with --write', { exitCode: 2 });
  const dir = resolve(io.cwd, positionals[0]);
  const reader = await LocalRepoReader.open(dir);
  for (const n of deps.notices ?? []) io.stderr(`pipeline-learner generate: ${n}\n`);
  const g = await generatePipeline(
    {
      reader,
      tenant: 'local',
      overrides: { language: values.language, framework: values.framework, policy: values.policy },
    },
    {
      ...deps,
      learnStage: { component: io.env.LEARN_COMPONENT?.trim() || null, serviceUrl: io.env.PUBLIC_URL?.trim() || null },
    },
  ).catch((err: unknown) => {
    // an unknown stack with no tests: no proposal, and the JSON says what was searched for
    if (err instanceof NoProposalError && values.json) return err;
    throw err;
  });
  if (g instanceof NoProposalError) {
    io.stdout(`${JSON.stringify({ proposal: null, searched: g.searched }, null, 2)}\n`);
    return 1;
  }

  if (values.write) {
    const targets: Array<[string, string]> = [['.gitlab-ci.yml', g.config]];
    if (g.dockerfile) targets.push(['Dockerfile', g.dockerfile]);
    if (!values.force) {
      const existing: string[] = [];
      for (const [name] of targets) if (await exists(join(dir, name))) existing.push(name);
      if (existing.length > 0)
        throw new UserFacingError(
          `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''} in ${positionals[0]}; add --force to overwrite`,
          {
            exitCode: 1,
          },
        );
    }
    for (const [name, content] of targets) await writeFile(join(dir, name), content);
    if (!values.json) io.stderr(`wrote ${targets.map(([n]) => n).join(' and ')} in ${positionals[0]}\n`);
  }

  if (values.json) {
    io.stdout(`${JSON.stringify(toGenerationJson(g), null, 2)}\n`);
  } else {
    io.stdout(explain(g));
    io.stdout(`\n${g.config}`);
    if (g.dockerfile) io.stdout(`\n# --- proposed Dockerfile (the repository has none) ---\n${g.dockerfile}`);
  }
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      write: { type: 'boolean' },
      force: { type: 'boolean' },
      language: { type: 'string' },
      framework: { type: 'string' },
      policy: { type: 'string' },
    },
  });
}

/**
 * With the store (embedded by default): learned candidates, the template collection and the learner,
 * which logs the decision. When another process holds the embedded store (or the database is down),
 * generation goes on without learned candidates and says so.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  try {
    return await withDomain(config, 'generate', async (domain) => {
      await domain.templates.seedBuiltIns();
      const { learnStage: _fromConfig, ...deps } = domain.generateDeps;
      return runGenerate(argv, io, deps);
    });
  } catch (err) {
    if (!(err instanceof DataDirLockedError) && !isConnectionFailure(err)) throw err;
    return runGenerate(argv, io, {
      chooser: new PriorChooser(),
      notices: [`${errorMessage(err)}; going on without learned candidates`],
    });
  }
}

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'CONNECT_TIMEOUT'].includes(code);
}

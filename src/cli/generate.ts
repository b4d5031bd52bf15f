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
  validateOverrides,
} from '../generation/generatePipeline.js';
import { NoProposalError } from '../generation/honestTests.js';
import { LANGUAGES } from '../generation/slugs.js';
import type { Chooser } from '../learning/Chooser.js';
import { PriorChooser } from '../learning/PriorChooser.js';
import { isPolicyName, POLICY_NAMES } from '../learning/policies.js';
import { buildLlmWiring } from '../llmWiring.js';
import { StoreUnavailableError, withDomain } from '../main.js';
import { LocalRepoReader } from '../repo/LocalRepoReader.js';

export const help = `Usage: pipeline-learner generate <dir> [--json] [--write [--force]] [--dockerfile PATH]
                                [--language L] [--framework F] [--policy P] [--llm]

Proposes a .gitlab-ci.yml for a local checkout. Standard output carries only the pipeline YAML,
so \`pipeline-learner generate . > .gitlab-ci.yml\` gives a valid file; the detection evidence,
the source (reinforcement_learning, template, default, translated — the repository's own GitHub
Actions workflow in GitLab form), the confidence and a proposed Dockerfile (when the pipeline
builds an image and the repository has none) go to standard error.

  --json            print {language, framework, evidence, source, confidence, config, dockerfile?}
  --write           write .gitlab-ci.yml (and the proposed Dockerfile) into <dir>, and record the
                    choice in the store (created in DATA_DIR when there is none)
  --force           with --write, overwrite existing files
  --dockerfile PATH write the proposed Dockerfile to PATH
  --language L      override the detected language (${LANGUAGES.join(', ')})
  --framework F     override the detected framework (one of the language's, e.g. django)
  --policy P        learner policy (${POLICY_NAMES.join(', ')})
  --llm             also ask the local LLM (OLLAMA_HOST) to adapt the best proven configuration;
                    its answer is validated, repaired and policy-checked, never used raw; when
                    the learner does not choose it, it is printed as an alternative

Without --write nothing is written: no store is created, no row is added to an existing one and
no decision is logged; an existing store (DATA_DIR, or DATABASE_URL) is only read for learned
configurations. Nothing is sent over the network except to DATABASE_URL/CHROMA_URL when set, and
with --llm to OLLAMA_HOST (the repository's facts and commands, a README excerpt, the base
configuration; see docs/llm.md).
Environment: DATA_DIR, DATABASE_URL, LEARN_COMPONENT (include the learn component instead of an
inline job), PUBLIC_URL (baked into the inline learn job).
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
    ...(g.llm ? [`# llm:        ${g.llm.message}`] : []),
    '# evidence:',
    ...g.evidence.map((e) => `#   ${e.fact} ← ${e.file}: ${e.detail}`),
  ];
  if (g.analysis.subprojects.length > 0)
    lines.push(`# sub-projects: ${g.analysis.subprojects.map((s) => `${s.path} (${s.language})`).join(', ')}`);
  const rejected = g.candidatesTried.filter((t) => !t.ok);
  for (const r of rejected) lines.push(`# rejected ${r.label}: ${r.errors.join('; ')}`);
  if (g.llm?.alternative) {
    lines.push(`# alternative (${g.llm.alternative.label}; not chosen, no runs yet):`);
    lines.push(commentBlock(g.llm.alternative.config).replace(/\n$/, ''));
  }
  return `${lines.join('\n')}\n`;
}

export type GenerateOptions = ReturnType<typeof parseGenerateArgs>;

/** Parses and checks the arguments before anything is opened; bad input is a UserFacingError with exit 2. */
export function parseGenerateArgs(argv: string[]) {
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
  if (values.policy !== undefined && !isPolicyName(values.policy))
    throw new UserFacingError(`unknown policy "${values.policy}": use one of ${POLICY_NAMES.join(', ')}`, {
      exitCode: 2,
    });
  // the framework is checked against the language once the repository has been analysed
  validateOverrides('unknown', { language: values.language });
  return { ...values, dir: positionals[0] };
}

export async function runGenerate(opts: GenerateOptions, io: CliIo, deps: GenerateCliDeps): Promise<number> {
  const dir = resolve(io.cwd, opts.dir);
  const reader = await LocalRepoReader.open(dir);
  for (const n of deps.notices ?? []) io.stderr(`pipeline-learner generate: ${n}\n`);
  const g = await generatePipeline(
    {
      reader,
      tenant: 'local',
      overrides: { language: opts.language, framework: opts.framework, policy: opts.policy },
      ...(opts.llm ? { llm: true } : {}),
    },
    {
      ...deps,
      // the CLI asks the model only when told to (--llm)
      llm: opts.llm ? deps.llm : null,
      learnStage: { component: io.env.LEARN_COMPONENT?.trim() || null, serviceUrl: io.env.PUBLIC_URL?.trim() || null },
    },
  ).catch((err: unknown) => {
    // an unknown stack with no tests: no proposal, and the JSON says what was searched for
    if (err instanceof NoProposalError && opts.json) return err;
    throw err;
  });
  if (g instanceof NoProposalError) {
    io.stdout(`${JSON.stringify({ proposal: null, searched: g.searched }, null, 2)}\n`);
    return 1;
  }

  const written: string[] = [];
  if (opts.write) {
    const targets: Array<[string, string]> = [['.gitlab-ci.yml', g.config]];
    if (g.dockerfile && !opts.dockerfile) targets.push(['Dockerfile', g.dockerfile]);
    if (!opts.force) {
      const existing: string[] = [];
      for (const [name] of targets) if (await exists(join(dir, name))) existing.push(name);
      if (existing.length > 0)
        throw new UserFacingError(
          `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''} in ${opts.dir}; add --force to overwrite`,
        );
    }
    for (const [name, content] of targets) await writeFile(join(dir, name), content);
    written.push(...targets.map(([n]) => join(opts.dir, n)));
  }
  if (opts.dockerfile && g.dockerfile) {
    const path = resolve(io.cwd, opts.dockerfile);
    await writeFile(path, g.dockerfile);
    written.push(opts.dockerfile);
  }

  if (opts.json) {
    io.stdout(`${JSON.stringify(toGenerationJson(g), null, 2)}\n`);
  } else {
    io.stderr(explain(g));
    if (!opts.write && (await exists(join(dir, '.gitlab-ci.yml'))))
      io.stderr(
        `# ${opts.dir} already has a .gitlab-ci.yml: to keep it and add only the learn stage, run\n` +
          `#   pipeline-learner learn-stage ${join(opts.dir, '.gitlab-ci.yml')} --in-place\n`,
      );
    if (g.dockerfile && !opts.dockerfile && !opts.write)
      io.stderr(
        `# proposed Dockerfile (the repository has none; write it with --dockerfile PATH):\n${commentBlock(g.dockerfile)}`,
      );
    io.stdout(g.config);
  }
  if (written.length) io.stderr(`pipeline-learner generate: wrote ${written.join(' and ')}\n`);
  return 0;
}

function commentBlock(text: string): string {
  return `${text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l ? `#   ${l}` : '#'))
    .join('\n')}\n`;
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
      dockerfile: { type: 'string' },
      language: { type: 'string' },
      framework: { type: 'string' },
      policy: { type: 'string' },
      llm: { type: 'boolean' },
    },
  });
}

/**
 * The store supplies learned candidates, the template collection and the learner. Read-only without
 * --write: an existing store is read, none is created or migrated, and the learner chooses without
 * logging. When there is no store, another process holds it, or the database is down, generation
 * goes on with templates and defaults alone and says so.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const opts = parseGenerateArgs(argv);
  const config = loadConfig(io.env);
  if (opts.llm && !config.ollama)
    throw new UserFacingError(
      '--llm needs the local LLM: set OLLAMA_HOST (e.g. http://localhost:11434) and pull the model (`ollama pull llama3.1:8b`)',
      { exitCode: 2 },
    );
  const readOnly = !opts.write;
  try {
    return await withDomain(
      config,
      'generate',
      async (domain, store) => {
        if (!readOnly) await domain.templates.seedBuiltIns();
        const { learnStage: _fromConfig, chooser: learner, ...deps } = domain.generateDeps;
        const chooser: Chooser = readOnly
          ? { choose: (context, arms, o) => learner.choose(context, arms, { ...o, record: false }) }
          : learner;
        const used = readOnly
          ? `read-only use of the store (${store.description}); the choice is not recorded without --write`
          : `recording the choice in the store (${store.description})`;
        return runGenerate(opts, io, { ...deps, chooser, notices: [used] });
      },
      { readOnly },
    );
  } catch (err) {
    if (!(err instanceof StoreUnavailableError) && !(err instanceof DataDirLockedError) && !isConnectionFailure(err))
      throw err;
    return runGenerate(opts, io, {
      chooser: new PriorChooser(),
      llm: buildLlmWiring(config, null).armSource,
      notices: [`${errorMessage(err)}; going on without learned candidates, nothing recorded`],
    });
  }
}

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'CONNECT_TIMEOUT'].includes(code);
}

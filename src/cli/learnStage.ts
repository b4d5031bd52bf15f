import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { UserFacingError } from '../errors.js';
import { ensureLearnStage } from '../generation/ensureLearnStage.js';
import { YamlSyntaxError } from '../generation/parseCiYaml.js';

export const help = `Usage: pipeline-learner learn-stage <file|-> [--in-place] [--stage NAME] [--job-prefix P]

Adds the learn stage to a .gitlab-ci.yml and prints the result on stdout. Only text is added: every
byte of the file is kept in order (comments, blank lines, indentation, folded scalars, anchors, line
endings), the new lines follow the file's own indentation, and running it twice changes nothing.
With LEARN_COMPONENT set, an \`include: - component:\` entry is added; otherwise an inline
learn_record job that posts to PUBLIC_URL (or $PIPELINE_LEARNER_URL at run time). A \`learn\` entry
is appended to \`stages:\` when the file lists its stages; without a list the job runs in .post.

  --in-place        rewrite the file instead of printing it (not with -)
  --stage NAME      stage name when the file lists its stages (default learn)
  --job-prefix P    prefix for the learn job's name

Invalid YAML exits 2 with file:line:col: message on stderr. A layout the edit cannot extend
without changing the file's meaning exits 1 and writes nothing. See docs/learn-stage.md.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: { 'in-place'?: boolean; stage?: string; 'job-prefix'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'in-place': { type: 'boolean' }, stage: { type: 'string' }, 'job-prefix': { type: 'string' } },
    }));
  } catch (err) {
    throw new UserFacingError(`${(err as Error).message}\n\n${help}`, { exitCode: 2 });
  }
  if (positionals.length !== 1)
    throw new UserFacingError(`expected one file (or - for stdin)\n\n${help}`, { exitCode: 2 });
  const file = positionals[0];
  if (file === '-' && values['in-place']) throw new UserFacingError('--in-place needs a file, not -', { exitCode: 2 });
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new UserFacingError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      {
        exitCode: 2,
      },
    );
  }
  let out: string;
  try {
    out = ensureLearnStage(text, {
      component: io.env.LEARN_COMPONENT?.trim() || null,
      serviceUrl: io.env.PUBLIC_URL?.trim() || null,
      stage: values.stage,
      jobPrefix: values['job-prefix'],
    });
  } catch (err) {
    if (err instanceof YamlSyntaxError) {
      io.stderr(`${file === '-' ? '<stdin>' : file}:${err.line}:${err.col}: ${err.reason}\n`);
      return 2;
    }
    if (err instanceof UserFacingError) {
      io.stderr(`${file}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (values['in-place']) {
    if (out !== text) await writeFile(path, out);
  } else {
    io.stdout(out);
  }
  return 0;
}

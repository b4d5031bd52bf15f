import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { CliIo } from '../cli.js';
import { loadConfig } from '../config.js';
import { UserFacingError } from '../errors.js';
import { builtInTemplates, type TemplateRecord } from '../generation/builtInTemplates.js';
import { parseTemplateFile } from '../generation/parseTemplateFile.js';
import { withDomain } from '../main.js';

export const help = `Usage: pipeline-learner templates import <dir>
       pipeline-learner templates list

import  reads every .yml/.yaml file under <dir> as a pipeline template and adds it to the
        pipeline_templates collection. Language and framework come from a first-lines comment
          # pipeline-learner: language=python framework=django description="Our Django pipeline"
        or from the file name: <language>[-<framework>].yml (python-django.yml, go.yml).
        Every file must be a valid pipeline; if one is not, nothing is imported.
list    shows the templates (built-in defaults and imported ones).
`;

/** Where templates live (the Chroma collection `pipeline_templates`, or the embedded index); wired by the composition root. */
export interface TemplateStore {
  /** inserts or replaces by id; returns how many were written */
  upsert(templates: TemplateRecord[]): Promise<number>;
  list(): Promise<TemplateRecord[]>;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') out.push(...(await yamlFiles(p)));
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

export async function runTemplates(argv: string[], io: CliIo, deps: { store: TemplateStore | null }): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'list') {
    const stored = deps.store ? await deps.store.list() : builtInTemplates();
    for (const t of stored)
      io.stdout(`${t.id}\t${t.language}\t${t.framework}\t${t.builtin ? 'built-in' : 'imported'}\t${t.description}\n`);
    return 0;
  }
  if (verb !== 'import' || rest.length !== 1) throw new UserFacingError(help, { exitCode: 2 });
  const dir = resolve(io.cwd, rest[0]);
  const s = await stat(dir).catch(() => null);
  if (!s?.isDirectory()) throw new UserFacingError(`${rest[0]}: not a directory`, { exitCode: 2 });
  const files = await yamlFiles(dir);
  if (files.length === 0) throw new UserFacingError(`${rest[0]}: no .yml or .yaml files`, { exitCode: 2 });
  const parsed: TemplateRecord[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      parsed.push(parseTemplateFile(relative(dir, f), await readFile(f, 'utf8')));
    } catch (err) {
      if (!(err instanceof UserFacingError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) {
    io.stderr(`${problems.map((p) => `  ${p}`).join('\n')}\nnothing imported: fix or remove the files above\n`);
    return 2;
  }
  if (!deps.store) {
    for (const t of parsed) io.stdout(`${t.id}\t${t.language}\t${t.framework}\tvalid\n`);
    throw new UserFacingError('no template store is available in this build; the files above are valid', {
      exitCode: 1,
    });
  }
  const n = await deps.store.upsert(parsed);
  for (const t of parsed) io.stdout(`imported ${t.id} (${t.language}/${t.framework})\n`);
  io.stdout(`${n} template${n === 1 ? '' : 's'} imported\n`);
  return 0;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  return withDomain(loadConfig(io.env), 'templates', async (domain) => {
    await domain.templates.seedBuiltIns();
    return runTemplates(argv, io, { store: domain.templates });
  });
}

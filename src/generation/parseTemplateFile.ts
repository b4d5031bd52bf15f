import { UserFacingError } from '../errors.js';
import type { TemplateRecord } from './builtInTemplates.js';
import { validatePipeline } from './validatePipeline.js';

const SLUG = /^[a-z0-9][a-z0-9.+-]*$/;

/**
 * A user template for `templates import`: metadata from a header comment
 * (`# pipeline-learner: language=python framework=django`, also `description=...`), else from the
 * file name `<language>[-<framework>].yml` / `.gitlab-ci.yml`-style `<language>.<framework>.gitlab-ci.yml`.
 * The file must pass validatePipeline.
 */
export function parseTemplateFile(fileName: string, text: string): TemplateRecord {
  const header = text
    .split('\n')
    .slice(0, 20)
    .filter((l) => l.trim().startsWith('#'))
    .join(' ');
  const meta: Record<string, string> = {};
  const m = header.match(/pipeline-learner:\s*(.*)/);
  if (m) {
    for (const kv of m[1].matchAll(/(\w+)=("([^"]*)"|\S+)/g)) meta[kv[1].toLowerCase()] = kv[3] ?? kv[2];
  }
  const base = fileName
    .split('/')
    .pop()!
    .replace(/\.gitlab-ci\.ya?ml$|\.ya?ml$/, '');
  const cut = base.search(/[-.]/);
  const parts = cut < 0 ? [base.toLowerCase()] : [base.slice(0, cut).toLowerCase(), base.slice(cut + 1).toLowerCase()];
  const language = (meta.language ?? parts[0] ?? '').toLowerCase();
  const framework = (meta.framework ?? parts[1]?.replace(/\./g, '-') ?? 'generic').toLowerCase();
  if (!SLUG.test(language) || language === '') {
    throw new UserFacingError(
      `${fileName}: cannot tell the language; add a first line "# pipeline-learner: language=<slug> framework=<slug>"`,
      { exitCode: 2 },
    );
  }
  if (!SLUG.test(framework))
    throw new UserFacingError(`${fileName}: framework "${framework}" is not a slug`, { exitCode: 2 });
  const v = validatePipeline(text);
  if (!v.ok) throw new UserFacingError(`${fileName}: not a valid pipeline: ${v.errors.join('; ')}`, { exitCode: 2 });
  return {
    id: `user:${language}-${framework}-${base.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`,
    language,
    framework,
    config: text,
    dockerfile: null,
    description: meta.description ?? `Imported from ${fileName}`,
    builtin: false,
  };
}

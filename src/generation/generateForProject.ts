import type { GitLab, ProjectRef } from '../gitlab/GitLab.js';
import { GitLabRepoReader } from '../repo/GitLabRepoReader.js';
import { type GenerateDeps, type Generation, generatePipeline } from './generatePipeline.js';
import type { LintFn } from './validatePipeline.js';

/** GitLab's CI lint for a project at a ref, as a dry run (the verdict GitLab would give the pipeline). */
export function gitLabLint(gitlab: Pick<GitLab, 'lint'>, project: ProjectRef, ref: string): LintFn {
  return (yaml) => gitlab.lint(project, yaml, { ref, dryRun: true });
}

/**
 * Generation for a GitLab project at a ref (POST /api/v1/pipeline/generate, `/pipeline generate`):
 * one tree listing, at most twelve file reads, and one lint call per candidate tried.
 */
export async function generateForProject(
  gitlab: GitLab,
  input: {
    project: ProjectRef;
    ref: string;
    tenant: string;
    overrides?: { language?: string; framework?: string; policy?: string };
    /** ask the LLM even when a proven candidate exists */
    llm?: boolean;
  },
  deps: Omit<GenerateDeps, 'lint'> & { lint?: boolean },
): Promise<Generation> {
  const { lint = true, ...rest } = deps;
  return generatePipeline(
    {
      reader: new GitLabRepoReader(gitlab, input.project, input.ref),
      tenant: input.tenant,
      overrides: input.overrides,
      ...(input.llm ? { llm: true } : {}),
    },
    { ...rest, lint: lint ? gitLabLint(gitlab, input.project, input.ref) : undefined },
  );
}

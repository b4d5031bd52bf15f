import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The corpus of real-world .gitlab-ci.yml files lives outside the repository (it is third-party
 * text), so tests that use it run only when PIPELINE_LEARNER_CORPUS names its directory. Unset, they
 * skip loudly, CI included: a clone anywhere must pass without it. In-repo fixtures cover the same
 * behaviour (test/fixtures/learn-stage/).
 */
export const CORPUS_VAR = 'PIPELINE_LEARNER_CORPUS';

export interface CorpusEntry {
  file: string;
  repo: string;
  yaml_npm_parse_ok: boolean;
  features: string[];
  extra_traits: string[];
}

export interface Corpus {
  dir: string;
  entries: CorpusEntry[];
  read(file: string): string;
}

/** The corpus named by PIPELINE_LEARNER_CORPUS, or null (after a warning naming the variable). */
export function loadCorpus(what: string): Corpus | null {
  const raw = process.env[CORPUS_VAR]?.trim();
  if (!raw) {
    console.warn(
      `\n!!! ${what} SKIPPED: ${CORPUS_VAR} is not set (point it at the corpus directory with index.jsonl, e.g. ${CORPUS_VAR}=/path/to/corpus)\n`,
    );
    return null;
  }
  const dir = resolve(raw);
  const index = join(dir, 'index.jsonl');
  // set but wrong is a mistake to report, not a reason to skip
  if (!existsSync(index)) throw new Error(`${CORPUS_VAR}=${raw}: no index.jsonl in ${dir}`);
  const entries = readFileSync(index, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CorpusEntry);
  return { dir, entries, read: (file) => readFileSync(join(dir, file), 'utf8') };
}

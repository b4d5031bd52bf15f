import { isMap, isSeq, parseDocument } from 'yaml';
import { UserFacingError } from '../errors.js';
import { type Analysis, MANIFEST_LANGUAGE } from './analyzeRepository.js';
import { CI_KEYWORDS } from './validatePipeline.js';

/** Top-level keys of .gitlab-ci.yml that are not jobs. */
const RESERVED = new Set([...CI_KEYWORDS, 'pages:deploy']);

/** A script line that can pass without running anything: `echo …`, `true`, `:`, `exit 0`, `printf …`. */
const INERT = /^\s*(echo\b.*|printf\b.*|true|:|exit\s+0)\s*;?\s*$/;

function lines(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(lines);
  return [];
}

/** The test commands a proposal's analysis found (one per monorepo part), none when empty. */
export function testCommands(a: Analysis): string[] {
  const own = a.parts.length > 0 ? a.parts.map((p) => p.testCommand) : [a.testCommand];
  return own.filter((c): c is string => typeof c === 'string' && c.length > 0);
}

/**
 * Does the configuration run tests? A job of stage `test` (or named for tests) whose script (its
 * own or the hidden job it extends) has a line that is more than an `echo`. Used for every
 * candidate, learned and template ones too: a pipeline green without testing must not look proven.
 * Takes the file's text, or its pipeline document already parsed to plain data.
 */
export function runsTests(config: string | Record<string, unknown>): boolean {
  let doc: Record<string, unknown>;
  if (typeof config === 'string') {
    try {
      const parsed = parseDocument(config);
      if (!isMap(parsed.contents) && !isSeq(parsed.contents)) return false;
      doc = (parsed.toJS() ?? {}) as Record<string, unknown>;
    } catch {
      return false;
    }
  } else doc = config;
  const job = (name: string): Record<string, unknown> | null => {
    const j = doc[name];
    return j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  };
  const scriptOf = (j: Record<string, unknown>, depth = 0): string[] => {
    if (j.script !== undefined || depth > 3) return lines(j.script);
    const parents = lines(j.extends);
    return parents.flatMap((p) => {
      const parent = job(p);
      return parent ? scriptOf(parent, depth + 1) : [];
    });
  };
  for (const name of Object.keys(doc)) {
    if (name.startsWith('.') || RESERVED.has(name)) continue;
    const j = job(name);
    if (!j) continue;
    const isTest = j.stage === 'test' || /(^|[^a-z])tests?([^a-z]|$)/i.test(name);
    if (!isTest) continue;
    if (scriptOf(j).some((l) => l.split('\n').some((x) => x.trim() !== '' && !INERT.test(x)))) return true;
  }
  return false;
}

/** What analysis looks for, for a user told that nothing was found. */
export function searchedFor(): string[] {
  const manifests = MANIFEST_LANGUAGE.map(([re, language]) => {
    const name = re.source
      .replace(/^\^|\$$/g, '')
      .replace(/\\\./g, '.')
      .replace(/^\.\(/, '*.(')
      .replace(/\(\.kts\)\?/, '[.kts]');
    // "*.(csproj|fsproj)" → "*.csproj / *.fsproj"
    const alt = name.match(/^(.*)\(([^)]+)\)(.*)$/);
    const names = alt ? alt[2].split('|').map((x) => `${alt[1]}${x}${alt[3]}`) : [name];
    return `${names.join(' / ')} (${language})`;
  });
  return [...manifests, 'Makefile with C sources (c)', 'Makefile with a test or check target (make test)'];
}

/**
 * No recognised stack and no tests: a proposal would be a pipeline that passes without testing
 * anything, so none is made. The message is what the CLI prints and the MR reply says.
 */
export class NoProposalError extends UserFacingError {
  constructor(readonly searched: string[]) {
    super(
      `No proposal: no known stack and no tests found in this repository, so any pipeline would pass without testing anything.\nSearched for: ${searched.join(', ')}.\nAdd a manifest or a test command, or name the stack with --language, then generate again.`,
      { exitCode: 1, status: 422, code: 'no_proposal' },
    );
    this.name = 'NoProposalError';
  }
}

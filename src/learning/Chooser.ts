/**
 * The seam between generation and the learner: generation lists candidate configurations (arms),
 * the learner picks one and logs the decision. Contract shared by src/generation and src/learning.
 */
/** `translated`: the repository's own CI (GitHub Actions) in GitLab form. */
export type ArmSource = 'learned' | 'template' | 'default' | 'translated' | 'llm';

/** A context is (tenant, language, framework); slugs as in DESIGN.md. */
export interface LearningContext {
  tenant: string;
  language: string;
  framework: string;
}

/**
 * The tenant: the first segment of `path_with_namespace` (`acme` for `Acme/team/app`), lower-cased
 * like every slug, so learned configurations stay within the group that produced them.
 */
export function tenantOf(pathWithNamespace: string): string {
  const first = pathWithNamespace.trim().replace(/^\/+/, '').split('/')[0];
  if (!first) throw new Error(`not a project path: "${pathWithNamespace}"`);
  return first.toLowerCase();
}

export interface ArmCandidate {
  /** sha256 (64 hex) of the configuration bytes; shown as the first 12 characters */
  hash: string;
  source: ArmSource;
  config: string;
  dockerfile?: string | null;
  /** where it came from, for people: "learned from acme/app pipeline 31", "template node-express" */
  label: string;
  /**
   * The configuration runs no tests, or its stack is unknown: its green says little, so it starts
   * from the uninformed Beta(1, 1) instead of its source's prior.
   */
  untested?: boolean;
  /** seed-000 facts, when known */
  stagesCount?: number;
  lastDurationS?: number | null;
}

export interface ArmConfidence {
  /** posterior mean probability of success */
  mean: number;
  /** 90 % credible interval */
  low: number;
  high: number;
  /** effective (discounted) number of observed runs */
  runs: number;
}

export interface Choice {
  arm: ArmCandidate;
  /** null when nothing was logged (e.g. no store available) */
  decisionId: string | null;
  policy: string;
  kind: 'explore' | 'exploit' | 'forced';
  /** the policy's probability of choosing this arm */
  probability: number;
  confidence: ArmConfidence | null;
}

export interface ChooseOptions {
  policy?: string;
  /** a user forced this arm (e.g. `--framework` picked a single template); logged as `forced` */
  forcedHash?: string;
  /** caller-provided id for the decision (e.g. the proposal), otherwise generated */
  decisionId?: string;
  /** false: choose without storing anything (a read-only caller); the choice's decisionId is null */
  record?: boolean;
}

export interface Chooser {
  choose(context: LearningContext, arms: ArmCandidate[], options?: ChooseOptions): Promise<Choice>;
}

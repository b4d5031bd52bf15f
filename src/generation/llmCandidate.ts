import type { ArmCandidate, LearningContext } from '../learning/Chooser.js';
import { type Embedder, type Llm, LlmError } from '../llm/Llm.js';
import { embedConfiguration, embedRepository } from '../vectors/embed.js';
import { type AdaptOutcome, adaptWithLlm, describeFallback, evidenceCommandsOf } from './adaptWithLlm.js';
import type { Analysis } from './analyzeRepository.js';
import type { LearnStageOptions } from './ensureLearnStage.js';
import { type RetrievedCandidate, rankRetrieved } from './rankRetrieved.js';
import type { LintFn } from './validatePipeline.js';

/**
 * The LLM arm of generation (issue 12): asked when no candidate of the context has passed the quality
 * gate, or when the user asks (`/pipeline generate --llm`, `generate --llm`). The candidates the
 * generator already validated are ranked for adaptation with the learner's posterior
 * (rankRetrieved: proven-and-similar before merely similar), the best is adapted by the model
 * (adaptWithLlm: validate → repair → allowlist policy), and the result is an arm of source `llm`
 * (prior Beta(1,1)) — or a fallback whose reason the proposal shows. No I/O here: the model, the
 * learner's view and the embedder are ports.
 */

/** What the learner says about a configuration in a context (a subset of its ArmReport). */
export interface ArmStanding {
  hash: string;
  mean: number;
  runs: number;
  gated: boolean;
  banned: boolean;
  broken: boolean;
}

export interface LlmCandidateDeps {
  llm: Llm;
  repairRounds: number;
  allowedRegistries: readonly string[];
  /** the learner's standing of every configuration it knows in a context */
  standings(context: LearningContext): Promise<ArmStanding[]>;
  /** embeddings for retrieval; null: feature hashing (src/vectors/embed.ts) */
  embedder?: Embedder | null;
  /** where the embedder's vectors of configurations are kept (its own `_<model>` collections) */
  embeddings?: EmbeddingStore | null;
  signal?: AbortSignal;
}

export type LlmAskReason = 'forced' | 'no_proven';

export interface LlmArmRequest {
  analysis: Analysis;
  context: LearningContext;
  /** the generator's validated candidates (learn stage ensured), any order */
  candidates: readonly ArmCandidate[];
  learnStage: LearnStageOptions;
  lint?: LintFn;
  /** text about the repository (README excerpt, MR description, a masked trace tail): data only */
  notes?: Array<{ name: string; text: string }>;
}

export type LlmArmResult =
  | { kind: 'candidate'; arm: ArmCandidate; base: string; outcome: AdaptOutcome }
  | {
      kind: 'fallback';
      outcome: Extract<AdaptOutcome, { kind: 'fallback' }> | null;
      /** why no LLM candidate: shown in the proposal with what was proposed instead */
      message: string;
    };

/** The port generatePipeline uses. */
export interface LlmArmSource {
  /** why the model should be asked in this context, or null when a proven candidate exists and it was not forced */
  shouldAsk(context: LearningContext, forced: boolean): Promise<LlmAskReason | null>;
  propose(request: LlmArmRequest): Promise<LlmArmResult>;
}

/** Configuration vectors of one embedding model, by configuration hash. */
export interface EmbeddingStore {
  get(candidates: readonly ArmCandidate[]): Promise<Map<string, number[]>>;
  put(
    items: Array<{ candidate: ArmCandidate; embedding: number[]; language: string; framework: string }>,
  ): Promise<void>;
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

function repositoryText(a: Analysis): string {
  return [a.language, a.framework, a.buildTool, a.packageManager, a.testCommand, a.lintCommand, a.buildCommand]
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('\n');
}

/** Similarity of the repository to each candidate configuration: Ollama embeddings when configured, else feature hashing. */
export async function similarities(
  analysis: Analysis,
  candidates: readonly ArmCandidate[],
  embedder: Embedder | null | undefined,
  signal?: AbortSignal,
  store?: EmbeddingStore | null,
): Promise<number[]> {
  if (embedder) {
    try {
      const known = store ? await store.get(candidates).catch(() => new Map<string, number[]>()) : new Map();
      const missing = candidates.filter((c) => !known.has(c.hash));
      const texts = [repositoryText(analysis), ...missing.map((c) => c.config)];
      // one more try: a kept-alive connection the server closed meanwhile fails the first request
      const [repo, ...fresh] = await embedder
        .embed(texts, { signal })
        .catch((err: unknown) =>
          err instanceof LlmError && err.kind === 'unavailable'
            ? embedder.embed(texts, { signal })
            : Promise.reject(err),
        );
      if (repo && fresh.length === missing.length) {
        if (store && missing.length > 0)
          await store
            .put(
              missing.map((candidate, i) => ({
                candidate,
                embedding: fresh[i]!,
                language: analysis.language,
                framework: analysis.framework,
              })),
            )
            .catch(() => {});
        for (const [i, c] of missing.entries()) known.set(c.hash, fresh[i]!);
        return candidates.map((c) => cosine(repo, known.get(c.hash) ?? []));
      }
    } catch {
      // an embedder that fails is no reason to fail: hashing below
    }
  }
  const repo = embedRepository(analysis);
  return candidates.map((c) =>
    cosine(repo, embedConfiguration({ language: analysis.language, framework: analysis.framework, config: c.config })),
  );
}

/** Candidates ranked for adaptation: banned and broken ones out, then similarity × posterior mean. */
export async function rankForAdaptation(
  request: Pick<LlmArmRequest, 'analysis' | 'candidates'>,
  standings: readonly ArmStanding[],
  embedder?: Embedder | null,
  signal?: AbortSignal,
  store?: EmbeddingStore | null,
): Promise<ArmCandidate[]> {
  const byHash = new Map(standings.map((s) => [s.hash, s]));
  const usable = request.candidates.filter((c) => {
    const s = byHash.get(c.hash);
    return c.source !== 'llm' && !s?.banned && !s?.broken;
  });
  const sims = await similarities(request.analysis, usable, embedder, signal, store);
  const retrieved: Array<RetrievedCandidate & { arm: ArmCandidate }> = usable.map((arm, i) => {
    const s = byHash.get(arm.hash);
    return { hash: arm.hash, similarity: sims[i] ?? 0, posteriorMean: s ? s.mean : null, runs: s?.runs ?? 0, arm };
  });
  return rankRetrieved(retrieved).map((r) => r.candidate.arm);
}

export function llmArmSource(deps: LlmCandidateDeps): LlmArmSource {
  return {
    async shouldAsk(context, forced) {
      if (forced) return 'forced';
      const standings = await deps.standings(context);
      return standings.some((s) => s.gated && !s.banned && !s.broken) ? null : 'no_proven';
    },

    async propose(request) {
      const standings = await deps.standings(request.context);
      const ranked = await rankForAdaptation(request, standings, deps.embedder, deps.signal, deps.embeddings);
      const base = ranked[0];
      if (!base) return { kind: 'fallback', outcome: null, message: 'no valid configuration to adapt' };
      const a = request.analysis;
      const outcome = await adaptWithLlm(
        {
          analysis: a,
          base: { config: base.config, label: base.label },
          evidenceCommands: [...evidenceCommandsOf(a), ...ciLinesOf(a)],
          notes: request.notes,
          learnStage: request.learnStage,
          allowedRegistries: deps.allowedRegistries,
          needsServices: a.automation.services.length > 0,
          needsDeploy: false,
        },
        { llm: deps.llm, repairRounds: deps.repairRounds, lint: request.lint, signal: deps.signal },
      );
      if (outcome.kind === 'candidate')
        return {
          kind: 'candidate',
          arm: { ...outcome.arm, dockerfile: base.dockerfile ?? null },
          base: base.label,
          outcome,
        };
      return { kind: 'fallback', outcome, message: outcome.message };
    },
  };
}

/** The repository's own CI commands and task-runner targets (its evidence for the policy). */
function ciLinesOf(a: Analysis): string[] {
  const au = a.automation;
  const targets = Object.entries(au.targets).flatMap(([file, names]) =>
    /makefile/i.test(file) ? names.map((t) => `make ${t}`) : [],
  );
  return [...au.ciCommands.flatMap((c) => c.split('\n').map((l) => l.trim())), ...targets, ...au.serviceSetup].filter(
    (l) => l !== '',
  );
}

/** The sentence a proposal shows when the model was asked and gave no candidate. */
export function fallbackSentence(result: Extract<LlmArmResult, { kind: 'fallback' }>, proposedLabel: string): string {
  if (result.outcome) return describeFallback(result.outcome, proposedLabel);
  return `No LLM-adapted candidate: ${result.message}. Proposed instead: ${proposedLabel}.`;
}

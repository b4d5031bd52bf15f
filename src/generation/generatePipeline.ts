import { createHash } from 'node:crypto';
import type { Document } from 'yaml';
import { UserFacingError } from '../errors.js';
import type { LintResult } from '../gitlab/GitLab.js';
import type { ArmCandidate, ArmConfidence, ArmSource, Chooser, LearningContext } from '../learning/Chooser.js';
import type { RepoReader } from '../repo/RepoReader.js';
import { type Analysis, analyzeRepository, type Evidence } from './analyzeRepository.js';
import type { TemplateRecord } from './builtInTemplates.js';
import { composeDefaultPipeline } from './composeDefaultPipeline.js';
import { ensureLearnStageParsed, type LearnStageOptions } from './ensureLearnStage.js';
import { NoProposalError, runsTests, searchedFor, testCommands } from './honestTests.js';
import { fallbackSentence, type LlmArmSource, type LlmAskReason } from './llmCandidate.js';
import { proposeDockerfile } from './proposeDockerfile.js';
import { type Framework, type Language, slugProblem } from './slugs.js';
import { type LintFn, validateParsed } from './validatePipeline.js';

/** Learned successful configurations for a context, best first is not required (the chooser ranks). */
export interface LearnedSource {
  learned(context: LearningContext): Promise<ArmCandidate[]>;
}

/** Templates (Chroma collection `pipeline_templates`); framework null → every template of the language. */
export interface TemplateSource {
  templates(language: string, framework: string | null): Promise<TemplateRecord[]>;
}

export interface GenerateInput {
  reader: RepoReader;
  tenant: string;
  overrides?: { language?: string; framework?: string; policy?: string };
  /** ask the LLM even when a proven candidate exists (`--llm`) */
  llm?: boolean;
  /** text about the repository for the model besides its files (the MR description): data only */
  notes?: Array<{ name: string; text: string }>;
}

export interface GenerateDeps {
  learned?: LearnedSource;
  templates?: TemplateSource;
  chooser: Chooser;
  /** GitLab CI lint of the chosen candidate; a failing verdict moves on to the next candidate */
  lint?: LintFn;
  learnStage: LearnStageOptions;
  /** the LLM arm (OLLAMA_HOST set): asked when no candidate of the context passed the quality gate, or when forced */
  llm?: LlmArmSource | null;
}

/** What the LLM arm did for one generation. */
export interface LlmReport {
  asked: LlmAskReason;
  /** `chosen`: the proposal is the LLM's; `alternative`: it is offered as a second proposal; `fallback`: none */
  outcome: 'chosen' | 'alternative' | 'fallback';
  /** the sentence the proposal shows */
  message: string;
  /** the LLM candidate when it was not chosen (offered as `/pipeline show N+1`) */
  alternative: ArmCandidate | null;
  repairRounds: number;
}

/** The start of the repository's README, for the model as data (never as instructions). */
async function readmeExcerpt(reader: RepoReader): Promise<string | null> {
  const files = await reader.list().catch(() => [] as string[]);
  const name = files.find((f) => /^readme(\.(md|rst|txt))?$/i.test(f));
  const text = name ? await reader.read(name).catch(() => null) : null;
  return text ? text.slice(0, 2000) : null;
}

/** Seed-API spelling of arm sources. */
export type ApiSource = 'reinforcement_learning' | 'template' | 'default' | 'translated' | 'llm';

export interface CandidateTrial {
  label: string;
  source: ArmSource;
  hash: string;
  ok: boolean;
  errors: string[];
}

export interface Generation {
  language: string;
  framework: string;
  evidence: Evidence[];
  source: ApiSource;
  confidence: number;
  /** the chooser's posterior for the pick (null for choosers that have none) */
  confidenceDetail: ArmConfidence | null;
  /** the chosen configuration runs no tests or the stack is unknown: it started from Beta(1, 1) */
  untested: boolean;
  /** test commands found in the repository; empty: "no tests found" */
  tests: string[];
  config: string;
  dockerfile: string | null;
  decisionId: string | null;
  /** sha256 of `config` (64 hex; show the first 12) */
  hash: string;
  label: string;
  policy: string;
  analysis: Analysis;
  candidatesTried: CandidateTrial[];
  lint: LintResult | null;
  warnings: string[];
  /** null when the LLM was not asked (not configured, or a proven candidate exists) */
  llm: LlmReport | null;
}

/** The JSON of `generate --json` and `POST /api/v1/pipeline/generate`. */
export interface GenerationJson {
  language: string;
  framework: string;
  evidence: Evidence[];
  source: ApiSource;
  confidence: number;
  /** the test commands found, or "none" (the proposal then has no test job) */
  tests: string[] | 'none';
  /** resolved runtime and tool versions; the evidence says why */
  versions: Record<string, string>;
  config: string;
  dockerfile?: string;
  /** present only when the local LLM was asked: what it did, and its candidate when not chosen */
  llm?: { outcome: LlmReport['outcome']; message: string; alternative?: { label: string; config: string } };
}

export function toGenerationJson(g: Generation): GenerationJson {
  return {
    language: g.language,
    framework: g.framework,
    evidence: g.evidence,
    source: g.source,
    confidence: g.confidence,
    tests: g.tests.length > 0 ? g.tests : 'none',
    versions: g.analysis.versions,
    config: g.config,
    ...(g.dockerfile ? { dockerfile: g.dockerfile } : {}),
    ...(g.llm
      ? {
          llm: {
            outcome: g.llm.outcome,
            message: g.llm.message,
            ...(g.llm.alternative
              ? { alternative: { label: g.llm.alternative.label, config: g.llm.alternative.config } }
              : {}),
          },
        }
      : {}),
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function apiSource(source: ArmSource): ApiSource {
  return source === 'learned' ? 'reinforcement_learning' : source;
}

const BUILDS_IMAGE = /\b(buildah|kaniko|docker build|docker buildx|podman build)\b/;

/**
 * Without a learner's posterior: how much the source and the analysis are worth.
 * Learned configurations ran green here; an exact template was written for the stack; the default
 * is fitted to the detected facts but never ran; an unknown stack lowers everything.
 */
function priorConfidence(source: ArmSource, exact: boolean, a: Analysis, untested: boolean): number {
  if (untested) return 0.5;
  const base =
    source === 'learned'
      ? 0.9
      : source === 'template'
        ? exact
          ? 0.75
          : 0.6
        : source === 'llm'
          ? 0.5
          : source === 'translated'
            ? 0.7
            : 0.65;
  const factor = a.language === 'unknown' ? 0.3 : a.framework === 'generic' && source === 'default' ? 0.9 : 1;
  return Math.round(base * factor * 100) / 100;
}

/**
 * A user's --language/--framework, checked against the slug registry: a language must be known, and
 * a framework must belong to the language the pipeline is generated for (the override or the detected one).
 */
export function validateOverrides(detectedLanguage: string, o: GenerateInput['overrides']): void {
  const language = o?.language?.toLowerCase();
  const problem = slugProblem(language ?? detectedLanguage, o?.framework?.toLowerCase());
  if (problem)
    throw new UserFacingError(
      problem + (language || !o?.framework ? '' : ` (detected language; --language changes it)`),
      { exitCode: 2 },
    );
}

function applyOverrides(a: Analysis, o: GenerateInput['overrides']): Analysis {
  if (!o) return a;
  validateOverrides(a.language, o);
  const out = { ...a, evidence: [...a.evidence] };
  if (o.language && o.language.toLowerCase() !== a.language) {
    out.language = o.language.toLowerCase() as Language;
    // the detected framework belongs to the detected language
    if (!o.framework) out.framework = 'generic';
    out.evidence.push({
      fact: `language=${out.language}`,
      file: '(override)',
      detail: `set by the user (detected ${a.language})`,
    });
  }
  if (o.framework && o.framework.toLowerCase() !== a.framework) {
    out.framework = o.framework.toLowerCase() as Framework;
    out.evidence.push({
      fact: `framework=${out.framework}`,
      file: '(override)',
      detail: `set by the user (detected ${a.framework})`,
    });
  }
  return out;
}

interface Prepared {
  arm: ArmCandidate;
  exact: boolean;
}

/**
 * Analyses the repository, lists candidates in the seed's priority order (learned → exact
 * template → language template → built-in default), drops those that fail validation, lets the
 * chooser pick, and lints the pick when a GitLab connection exists (re-choosing on failure).
 */
export async function generatePipeline(input: GenerateInput, deps: GenerateDeps): Promise<Generation> {
  const analysis = applyOverrides(await analyzeRepository(input.reader), input.overrides);
  const tests = testCommands(analysis);
  if (analysis.language === 'unknown' && tests.length === 0) throw new NoProposalError(searchedFor());
  const context: LearningContext = { tenant: input.tenant, language: analysis.language, framework: analysis.framework };
  const composed = composeDefaultPipeline(analysis);
  const tried: CandidateTrial[] = [];
  const warnings: string[] = [];
  const prepared: Prepared[] = [];
  const seen = new Set<string>();

  const consider = (raw: ArmCandidate, exact: boolean) => {
    let config: string;
    let docs: Document.Parsed[];
    try {
      ({ text: config, docs } = ensureLearnStageParsed(raw.config, deps.learnStage));
    } catch (err) {
      tried.push({ label: raw.label, source: raw.source, hash: raw.hash, ok: false, errors: [(err as Error).message] });
      return;
    }
    const hash = sha256(config);
    if (seen.has(hash)) return;
    seen.add(hash);
    // one parse per candidate: the learn-stage check's, reused by validation and the tests check
    const { result: v, js } = validateParsed(config, docs);
    tried.push({ label: raw.label, source: raw.source, hash, ok: v.ok, errors: v.errors });
    // a built-in default's test jobs are the analysis's test commands: none found, none run (its
    // stage-test checks such as `terraform validate` are checks, not tests)
    const untested =
      analysis.language === 'unknown' ||
      !runsTests(js ?? config) ||
      (raw.source === 'default' && testCommands(analysis).length === 0);
    if (v.ok) prepared.push({ arm: { ...raw, config, hash, ...(untested ? { untested } : {}) }, exact });
  };

  // The project's own CI in GitLab form. Considered before learned candidates: when it already ran
  // green here, the same bytes come back as learned, and for its own project it stays `translated`
  // (ungated); other projects only get it as `learned`, through the quality gate.
  const translated = analysis.automation.translated;
  if (translated) {
    consider(
      {
        hash: sha256(translated.config),
        source: 'translated',
        config: translated.config,
        dockerfile: null,
        label: `translated from ${translated.workflow}`,
      },
      true,
    );
  }
  const learned = deps.learned ? await deps.learned.learned(context) : [];
  for (const arm of learned) consider({ ...arm, source: 'learned' }, true);

  const fromTemplate = (t: TemplateRecord, exact: boolean) => {
    if (t.builtin) {
      // re-composed from this repository's facts: the default below covers it
      return;
    }
    consider(
      {
        hash: sha256(t.config),
        source: 'template',
        config: t.config,
        dockerfile: t.dockerfile,
        label: `template ${t.id}`,
      },
      exact,
    );
  };
  if (deps.templates) {
    const exact = await deps.templates.templates(analysis.language, analysis.framework);
    for (const t of exact) if (t.framework === analysis.framework) fromTemplate(t, true);
    const byLanguage = await deps.templates.templates(analysis.language, null);
    for (const t of byLanguage)
      if (t.framework !== analysis.framework && t.framework === 'generic') fromTemplate(t, false);
  }
  consider(
    {
      hash: sha256(composed.config),
      source: 'default',
      config: composed.config,
      dockerfile: composed.dockerfile,
      label: `built-in default ${composed.id}`,
    },
    true,
  );

  // the LLM arm: asked when nothing of the context has passed the quality gate, or when forced
  let llmArm: ArmCandidate | null = null;
  let llmFallback: { message: string; asked: LlmAskReason; result: Parameters<typeof fallbackSentence>[0] } | null =
    null;
  let llmAsked: LlmAskReason | null = null;
  let llmRounds = 0;
  if (deps.llm && prepared.length > 0) {
    llmAsked = await deps.llm.shouldAsk(context, input.llm === true);
    if (llmAsked) {
      const readme = await readmeExcerpt(input.reader);
      const r = await deps.llm.propose({
        analysis,
        context,
        candidates: prepared.map((p) => p.arm),
        learnStage: deps.learnStage,
        lint: deps.lint,
        notes: [...(readme ? [{ name: 'readme_excerpt', text: readme }] : []), ...(input.notes ?? [])],
      });
      if (r.kind === 'candidate') {
        llmRounds = r.outcome.repairRounds;
        if (!seen.has(r.arm.hash)) {
          seen.add(r.arm.hash);
          tried.push({ label: r.arm.label, source: 'llm', hash: r.arm.hash, ok: true, errors: [] });
          llmArm = { ...r.arm, ...(runsTests(r.arm.config) ? {} : { untested: true }) };
          prepared.push({ arm: llmArm, exact: true });
        }
      } else {
        llmRounds = r.outcome?.repairRounds ?? 0;
        llmFallback = { message: r.message, asked: llmAsked, result: r };
      }
    }
  }
  const llmReport = (picked: ArmCandidate): LlmReport | null => {
    if (!llmAsked) return null;
    if (llmFallback)
      return {
        asked: llmAsked,
        outcome: 'fallback',
        message: fallbackSentence(llmFallback.result, picked.label),
        alternative: null,
        repairRounds: llmRounds,
      };
    if (!llmArm) return null;
    const chosen = picked.hash === llmArm.hash;
    const stillValid = prepared.some((p) => p.arm.hash === llmArm!.hash);
    return {
      asked: llmAsked,
      outcome: chosen ? 'chosen' : stillValid ? 'alternative' : 'fallback',
      message: chosen
        ? `LLM-adapted candidate (${llmArm.label}): validated, repaired in ${llmRounds} round(s), policy-clean; it starts from Beta(1,1).`
        : stillValid
          ? `The learner chose ${picked.label}; an LLM-adapted candidate (${llmArm.label}) is offered as an alternative.`
          : `No LLM-adapted candidate: GitLab's lint refused it. Proposed instead: ${picked.label}.`,
      alternative: chosen || !stillValid ? null : llmArm,
      repairRounds: llmRounds,
    };
  };

  let lint: LintResult | null = null;
  while (prepared.length > 0) {
    const choice = await deps.chooser.choose(
      context,
      prepared.map((p) => p.arm),
      { policy: input.overrides?.policy },
    );
    const picked = prepared.find((p) => p.arm.hash === choice.arm.hash) ?? prepared[0];
    if (deps.lint) {
      lint = await deps.lint(picked.arm.config);
      if (!lint.valid) {
        const trial = tried.find((t) => t.hash === picked.arm.hash);
        if (trial) {
          trial.ok = false;
          trial.errors = lint.errors.map((e) => `GitLab lint: ${e}`);
        }
        prepared.splice(prepared.indexOf(picked), 1);
        continue;
      }
      warnings.push(...lint.warnings.map((w) => `GitLab lint: ${w}`));
    }
    let dockerfile = picked.arm.dockerfile ?? null;
    if (!dockerfile && !analysis.dockerfile && BUILDS_IMAGE.test(picked.arm.config))
      dockerfile = proposeDockerfile(analysis);
    if (analysis.dockerfile) dockerfile = null;
    return {
      language: analysis.language,
      framework: analysis.framework,
      evidence: analysis.evidence,
      source: apiSource(picked.arm.source),
      confidence: choice.confidence
        ? Math.round(choice.confidence.mean * 100) / 100
        : priorConfidence(picked.arm.source, picked.exact, analysis, picked.arm.untested ?? false),
      confidenceDetail: choice.confidence,
      untested: picked.arm.untested ?? false,
      tests,
      config: picked.arm.config,
      dockerfile,
      decisionId: choice.decisionId,
      hash: picked.arm.hash,
      label: picked.arm.label,
      policy: choice.policy,
      analysis,
      candidatesTried: tried,
      lint,
      warnings,
      llm: llmReport(picked.arm),
    };
  }
  const reasons = tried.map((t) => `${t.label}: ${t.errors.join('; ')}`).join('\n');
  throw new Error(`no valid pipeline candidate for ${analysis.language}/${analysis.framework}:\n${reasons}`);
}

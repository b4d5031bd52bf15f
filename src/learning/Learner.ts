import { UserFacingError } from '../errors.js';
import { type ArmStats, armStats } from './ArmStats.js';
import type { Attribution, AttributionClass } from './attribution.js';
import { betaInterval } from './betaMath.js';
import type {
  ArmCandidate,
  ArmConfidence,
  ArmSource,
  Choice,
  ChooseOptions,
  Chooser,
  LearningContext,
} from './Chooser.js';
import type { DecisionRecord } from './DecisionRecord.js';
import { type IneligibleReason, isBanned, isBrokenOut, passesGate } from './eligibility.js';
import { DEFAULT_LEARNER_OPTIONS, type LearnerOptions } from './LearnerOptions.js';
import type { Ban, FailedJob, JobFailureStat, LearningStore, StoredFeedback, StoredRun } from './LearningStore.js';
import { isPolicyName, POLICIES, POLICY_NAMES, type PolicyName, posteriorMeanReward } from './policies.js';
import {
  type ArmEvidence,
  addFeedback,
  addRun,
  decayTo,
  emptyArm,
  feedbackPseudoCounts,
  removeFeedback,
  removeRun,
  replayArms,
  restoreRun,
} from './posterior.js';
import { type Rng, randomRng } from './Rng.js';
import { type RewardParts, rewardParts, rewardPartsV2 } from './reward.js';

export interface ObservedRun {
  tenant: string;
  language: string;
  framework: string;
  projectPath: string;
  /** GitLab's global pipeline id */
  pipelineId: number;
  configHash: string;
  status: 'success' | 'failed' | 'canceled';
  durationS: number | null;
  stagesCount: number | null;
  failedJobs: FailedJob[];
  at: Date | string;
  /** failure attribution from GitLab's evidence (attribution.ts); absent: green = works, red = broken (v1) */
  attribution?: Attribution | null;
}

export type ObserveEffect = 'added' | 'corrected' | 'unchanged' | 'removed' | 'ignored';

export interface FeedbackInput {
  decisionId: string;
  userId: string;
  kind: 'rating' | 'thumbs_up' | 'thumbs_down';
  value?: number | null;
  revoke?: boolean;
}

/** One configuration's standing in a context, for /learn/best, /learn/successful and the comment verbs. */
export interface ArmReport {
  hash: string;
  source: ArmSource;
  /** runs with evidence, undiscounted (since it last broke, if it did) */
  runs: number;
  successes: number;
  /** discounted runs the posterior rests on */
  effectiveRuns: number;
  /** posterior mean success probability and its 90 % credible interval */
  mean: number;
  low: number;
  high: number;
  /** posterior mean reward (formula in reward.ts) — the ranking key */
  expectedReward: number;
  broken: boolean;
  banned: boolean;
  /** passes the quality gate (learned configurations are proposed only when true) */
  gated: boolean;
  lastDurationS: number | null;
  meanDurationS: number | null;
  stagesCount: number | null;
  /** what the configuration's latest attributed pipeline said ("red: 3 of 412 tests failed — …"); per tenant only */
  lastEvidence?: string | null;
}

/** A pipeline as the learner recorded it (`Learner.recordedRun`). */
export interface RecordedRun {
  success: boolean;
  /** null: stored without attribution (green = works, red = broken, reward v1) */
  attribution: AttributionClass | null;
  /** the attribution's line for people ("red: 3 of 412 tests failed — the configuration worked") */
  summary: string | null;
  testsTotal: number | null;
  testsFailed: number | null;
}

export interface LearnerDeps {
  store: LearningStore;
  options?: LearnerOptions;
  defaultPolicy?: PolicyName;
  rng?: Rng;
  now?: () => Date;
  newId?: () => string;
}

const HASH_RE = /^[0-9a-f]{7,64}$/;

/** the most pipelines of one context a single learner transaction applies */
const MAX_GROUP = 64;

interface PendingRun {
  input: ObservedRun;
  resolve: (effect: ObserveEffect) => void;
  reject: (err: unknown) => void;
}

function sameContext(a: LearningContext, b: LearningContext): boolean {
  return a.tenant === b.tenant && a.language === b.language && a.framework === b.framework;
}

function normaliseContext(c: LearningContext): LearningContext {
  return {
    tenant: c.tenant.trim().toLowerCase(),
    language: c.language.trim().toLowerCase(),
    framework: (c.framework || 'generic').trim().toLowerCase(),
  };
}

function confidenceOf(stats: ArmStats, effectiveRuns: number): ArmConfidence {
  const { low, high } = betaInterval(stats.alpha, stats.beta, 0.9);
  return { mean: stats.alpha / (stats.alpha + stats.beta), low, high, runs: effectiveRuns };
}

/**
 * The learner: Beta-Bernoulli posteriors per (context, configuration) with discounting, failure learning,
 * feedback and a logged bandit choice. Pure apart from its storage port.
 */
export class Learner implements Chooser {
  readonly options: LearnerOptions;
  private readonly store: LearningStore;
  private readonly defaultPolicy: PolicyName;
  private readonly rng: Rng;
  private readonly now: () => Date;
  private readonly newId: () => string;
  /** per context: pipelines waiting for the next transaction of that context (group commit) */
  private readonly waiting = new Map<string, PendingRun[]>();
  /** contexts with a transaction of observeRun running */
  private readonly committing = new Set<string>();

  constructor(deps: LearnerDeps) {
    this.store = deps.store;
    this.options = deps.options ?? DEFAULT_LEARNER_OPTIONS;
    this.defaultPolicy = deps.defaultPolicy ?? 'thompson';
    this.rng = deps.rng ?? randomRng();
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => globalThis.crypto.randomUUID());
  }

  private async sharedFor(
    context: LearningContext,
  ): Promise<Map<string, { successes: number; failures: number }> | null> {
    if (!this.options.shareAcrossTenants) return null;
    const rows = await this.store.getArmsForStacks([{ language: context.language, framework: context.framework }]);
    const shared = new Map<string, { successes: number; failures: number }>();
    for (const r of rows) {
      if (r.context.tenant === context.tenant) continue;
      const a = decayTo(r.arm, r.contextRuns, this.options.halfLifeRuns);
      const s = shared.get(a.hash) ?? { successes: 0, failures: 0 };
      s.successes += a.successes;
      s.failures += a.failures;
      shared.set(a.hash, s);
    }
    return shared;
  }

  async choose(rawContext: LearningContext, candidates: ArmCandidate[], options: ChooseOptions = {}): Promise<Choice> {
    const context = normaliseContext(rawContext);
    const unique = new Map<string, ArmCandidate>();
    for (const c of candidates) if (!unique.has(c.hash)) unique.set(c.hash, c);
    const all = [...unique.values()];
    if (all.length === 0) throw new UserFacingError('there is no candidate configuration to choose from');
    const policyName = options.policy ?? this.defaultPolicy;
    if (!isPolicyName(policyName))
      throw new UserFacingError(`unknown policy "${policyName}": use one of ${POLICY_NAMES.join(', ')}`, {
        exitCode: 2,
      });
    const policy = POLICIES[policyName];

    const [bans, contextRuns, stored, shared] = await Promise.all([
      this.store.listBans(),
      this.store.getContextRuns(context),
      this.store.getArms(context),
      this.sharedFor(context),
    ]);
    const banHashes = bans.map((b) => b.hash);
    const byHash = new Map(stored.map((a) => [a.hash, a]));
    const view = all.map((c) => {
      const arm = byHash.get(c.hash);
      const evidence = arm ? { ...arm, source: c.source } : emptyArm(c.hash, c.source);
      const stats = armStats(evidence, contextRuns, this.options, shared?.get(c.hash), {
        durationS: c.lastDurationS ?? null,
        stagesCount: c.stagesCount ?? null,
        untested: c.untested ?? false,
      });
      return { candidate: c, arm: evidence, stats };
    });

    const notBanned = view.filter((v) => !isBanned(v.candidate.hash, banHashes));
    const forced = options.forcedHash
      ? view.find((v) => v.candidate.hash.startsWith(options.forcedHash!.toLowerCase()))
      : undefined;
    if (options.forcedHash && !forced) {
      throw new UserFacingError(`no candidate configuration has hash ${options.forcedHash}`, { exitCode: 2 });
    }
    if (notBanned.length === 0 && !forced) {
      throw new UserFacingError(
        'every candidate configuration is banned; unban one with `pipeline-learner learner unban <hash>`',
      );
    }
    let eligible = notBanned.filter(
      (v) =>
        !isBrokenOut(v.arm, contextRuns, this.options) &&
        (v.candidate.source !== 'learned' ||
          passesGate(v.arm.runsTotal, v.stats.alpha / (v.stats.alpha + v.stats.beta), this.options)),
    );
    // When everything is broken or gated, the least bad is still better than no pipeline at all.
    if (eligible.length === 0) eligible = notBanned.length ? notBanned : [forced!];
    const stats = eligible.map((v) => v.stats);
    const picked = policy.choose(stats, contextRuns, this.rng);
    let index = picked.index;
    let kind: DecisionRecord['kind'] = picked.kind;
    let propensity = picked.probabilities[index];
    let arms = stats;
    let probabilities = picked.probabilities;
    if (forced) {
      const fi = eligible.indexOf(forced);
      if (fi >= 0) index = fi;
      else {
        arms = [...stats, forced.stats];
        probabilities = [...picked.probabilities, 0];
        index = arms.length - 1;
      }
      kind = 'forced';
      propensity = 1;
    }
    const chosen = eligible[index] ?? forced!;
    const id = options.decisionId ?? this.newId();
    const decision: DecisionRecord = {
      id,
      at: this.now().toISOString(),
      policy: policy.name,
      policyVersion: policy.version,
      context,
      contextRuns,
      arms,
      probabilities,
      chosenHash: chosen.candidate.hash,
      kind,
      propensity,
      pipelineId: null,
      reward: null,
    };
    if (options.record !== false)
      await this.store.transaction(async (tx) => {
        // Remember each candidate's source so later runs and reports know where it came from.
        const missing = view
          .filter((v) => !byHash.has(v.candidate.hash) || byHash.get(v.candidate.hash)!.source !== v.candidate.source)
          .map((v) => v.arm);
        if (missing.length) {
          await tx.lockContext(context);
          const fresh = new Map((await tx.getArms(context)).map((a) => [a.hash, a]));
          await tx.putArms(
            context,
            missing.map((m) => ({ ...(fresh.get(m.hash) ?? m), source: m.source })),
          );
        }
        await tx.insertDecision(decision);
      });
    const effective = decayTo(chosen.arm, contextRuns, this.options.halfLifeRuns);
    return {
      arm: chosen.candidate,
      decisionId: options.record === false ? null : id,
      policy: policy.name,
      kind,
      probability: propensity,
      confidence: confidenceOf(chosen.stats, effective.successes + effective.failures),
    };
  }

  /**
   * Records a finished pipeline. Idempotent per pipeline id: the same outcome again changes nothing, a
   * different one (a retried pipeline) replaces the earlier evidence in its original place in time, and
   * `canceled` removes any earlier evidence (a canceled pipeline says nothing about its configuration).
   *
   * Group commit: every writer of a context waits while a transaction holds the context's lock, so the
   * pipelines of one context that finish while such a transaction is running are applied together by the
   * next one, in the order they arrived (the same result as one transaction each, in that order); each
   * caller's promise settles when its pipeline is committed.
   */
  observeRun(input: ObservedRun): Promise<ObserveEffect> {
    // inside the executor: a malformed input rejects like the async method it replaces, never throws
    return new Promise((resolve, reject) => {
      const context = normaliseContext(input);
      const key = `${context.tenant}\u0000${context.language}\u0000${context.framework}`;
      const waiting = this.waiting.get(key) ?? [];
      this.waiting.set(key, waiting);
      waiting.push({ input, resolve, reject });
      if (!this.committing.has(key)) void this.commitGroups(key, context);
    });
  }

  private async commitGroups(key: string, context: LearningContext): Promise<void> {
    this.committing.add(key);
    try {
      for (;;) {
        const waiting = this.waiting.get(key);
        if (!waiting?.length) {
          this.waiting.delete(key);
          return;
        }
        await this.commitGroup(context, waiting.splice(0, MAX_GROUP));
      }
    } finally {
      this.committing.delete(key);
    }
  }

  private async commitGroup(context: LearningContext, group: PendingRun[]): Promise<void> {
    const apply = (inputs: ObservedRun[]) => this.store.transaction((tx) => this.applyRuns(tx, context, inputs));
    try {
      const effects = await apply(group.map((g) => g.input));
      for (const [i, g] of group.entries()) g.resolve(effects[i]!);
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      // one at a time: a pipeline that cannot be applied fails its own job only
      for (const g of group) await apply([g.input]).then(([effect]) => g.resolve(effect!), g.reject);
    }
  }

  /**
   * Applies pipelines of one context in order, in one transaction holding the context's lock for four
   * round trips whatever their number: the lock, the reads together, the writes together, the commit
   * (statements issued together go out pipelined on PostgreSQL, one after another on PGlite).
   */
  private async applyRuns(
    tx: LearningStore,
    context: LearningContext,
    inputs: ObservedRun[],
  ): Promise<ObserveEffect[]> {
    const opts = this.options;
    // Lock first, read after: a duplicate delivery waiting on the lock then sees the first one's row.
    // `now` is this context's run counter: only this transaction writes it while the lock is held.
    const counter = await tx.lockContext(context);
    let now = counter;
    const [stored, contextArms] = await Promise.all([
      tx.getRuns([...new Set(inputs.map((i) => i.pipelineId))]),
      tx.getArms(context),
    ]);
    /** every run as the pipelines applied so far leave it (null: deleted) */
    const runs = new Map<number, StoredRun | null>(stored.map((r) => [r.pipelineId, r]));
    const changed = new Set<number>();
    const arms = new Map(contextArms.map((a) => [a.hash, a]));
    const touched = new Set<string>();
    const setArm = (arm: ArmEvidence) => {
      arms.set(arm.hash, arm);
      touched.add(arm.hash);
    };
    const effects: ObserveEffect[] = [];
    for (const input of inputs) {
      const hash = input.configHash.toLowerCase();
      const existing = runs.get(input.pipelineId) ?? null;
      const here = existing !== null && sameContext(existing.context, context);
      if (input.status === 'canceled') {
        if (!existing) {
          effects.push('ignored');
          continue;
        }
        if (!here) await this.withdrawElsewhere(tx, existing);
        else {
          const arm = arms.get(existing.hash);
          if (arm) setArm(removeRun(arm, existing, now, opts));
        }
        runs.set(input.pipelineId, null);
        changed.add(input.pipelineId);
        effects.push('removed');
        continue;
      }
      const success = input.status === 'success';
      const durationS = input.durationS ?? null;
      const stagesCount = input.stagesCount ?? null;
      const attr = input.attribution ?? null;
      const attribution = attr?.class ?? null;
      if (
        here &&
        existing.success === success &&
        (existing.attribution ?? null) === attribution &&
        existing.hash === hash &&
        existing.durationS === durationS &&
        existing.stagesCount === stagesCount
      ) {
        effects.push('unchanged');
        continue;
      }
      let slot: number;
      const evidence = { hash, success, durationS, stagesCount, attribution };
      if (here) {
        setArm(removeRun(arms.get(existing.hash) ?? emptyArm(existing.hash, 'learned'), existing, now, opts));
        slot = existing.slot;
        setArm(restoreRun(arms.get(hash) ?? emptyArm(hash, 'learned'), { ...evidence, slot }, now, opts));
      } else {
        // a run that moved here from another context: withdrawn there (that context's lock and counter)
        if (existing) await this.withdrawElsewhere(tx, existing);
        slot = ++now;
        setArm(addRun(arms.get(hash) ?? emptyArm(hash, 'learned'), { ...evidence, slot }, opts));
      }
      runs.set(input.pipelineId, {
        pipelineId: input.pipelineId,
        context,
        projectPath: input.projectPath,
        hash,
        slot,
        success,
        durationS,
        stagesCount,
        at: typeof input.at === 'string' ? input.at : input.at.toISOString(),
        failedJobs: success ? [] : input.failedJobs,
        attribution,
        attributionSummary: attr?.summary ?? null,
        testsTotal: attr?.testsTotal ?? null,
        testsFailed: attr?.testsFailed ?? null,
        coverage: attr?.coverage ?? null,
      });
      changed.add(input.pipelineId);
      effects.push(existing ? 'corrected' : 'added');
    }
    if (changed.size === 0) return effects;
    const final = [...changed].map((id) => [id, runs.get(id) ?? null] as const);
    const kept = final.flatMap(([, run]) => (run ? [run] : []));
    const gone = final.flatMap(([id, run]) => (run ? [] : [id]));
    await Promise.all([
      tx.putArms(
        context,
        [...touched].map((h) => arms.get(h)!),
      ),
      now === counter ? null : tx.setContextRuns(context, now),
      tx.putRuns(kept),
      tx.deleteRuns(gone),
      this.refreshRewards(tx, new Map(final)),
    ]);
    return effects;
  }

  /** Takes a run's evidence out of its arm in the run's own context, under that context's lock. */
  private async withdrawElsewhere(tx: LearningStore, run: StoredRun): Promise<void> {
    const now = await tx.lockContext(run.context);
    const arm = (await tx.getArms(run.context)).find((a) => a.hash === run.hash);
    if (arm) await tx.putArms(run.context, [removeRun(arm, run, now, this.options)]);
  }

  /** The rewards of the decisions whose pipelines these are (null: the run is gone). */
  private async refreshRewards(tx: LearningStore, runs: ReadonlyMap<number, StoredRun | null>): Promise<void> {
    const decisions = await tx.decisionsForPipelines([...runs.keys()]);
    await Promise.all(
      decisions.map((d) => {
        const run = runs.get(d.pipelineId!) ?? null;
        return tx.setDecisionReward(d.id, d.pipelineId, run ? rewardFor(run, d.reward) : null);
      }),
    );
  }

  /**
   * Joins a decision to the pipeline its approved commit produced. The reward (parts and formula version)
   * is stored with the decision now if the pipeline already finished, else when it does.
   */
  async attachReward(decisionId: string, pipelineId: number): Promise<RewardParts | null> {
    return this.store.transaction(async (tx) => {
      const decision = await tx.getDecision(decisionId);
      if (!decision) throw new UserFacingError(`unknown decision ${decisionId}`, { status: 404 });
      // Same lock as observeRun takes for this context, so a run finishing meanwhile is seen or sees us.
      await tx.lockContext(decision.context);
      const [run] = await tx.getRuns([pipelineId]);
      const reward = run ? rewardFor(run, decision.reward) : null;
      await tx.setDecisionReward(decisionId, pipelineId, reward);
      return reward;
    });
  }

  /**
   * Feedback on a decision's chosen configuration as pseudo-observations (weights in posterior.ts).
   * One active piece of feedback per user and decision: a new one replaces it, `revoke` removes it.
   */
  async feedback(input: FeedbackInput): Promise<'added' | 'replaced' | 'revoked' | 'unchanged'> {
    const decision = await this.store.getDecision(input.decisionId);
    if (!decision) throw new UserFacingError(`unknown decision ${input.decisionId}`, { status: 404 });
    const counts = input.revoke
      ? null
      : feedbackPseudoCounts(input.kind, input.value ?? null, this.options.feedbackWeight);
    const hl = this.options.halfLifeRuns;
    return this.store.transaction(async (tx) => {
      const context = decision.context;
      const now = await tx.lockContext(context);
      const previous = await tx.getFeedback(input.decisionId, input.userId);
      if (!previous && input.revoke) return 'unchanged';
      let arm =
        (await tx.getArms(context)).find((a) => a.hash === decision.chosenHash) ??
        emptyArm(decision.chosenHash, decision.arms.find((a) => a.hash === decision.chosenHash)?.source ?? 'learned');
      if (previous) arm = removeFeedback(arm, previous, now, hl);
      if (!counts) {
        await tx.putArms(context, [arm]);
        await tx.deleteFeedback(input.decisionId, input.userId);
        return 'revoked';
      }
      const fb: StoredFeedback = {
        decisionId: input.decisionId,
        userId: input.userId,
        kind: input.kind,
        value: input.kind === 'rating' ? Math.round(input.value!) : null,
        context,
        hash: decision.chosenHash,
        slot: now,
        positive: counts.positive,
        negative: counts.negative,
        at: this.now().toISOString(),
      };
      await tx.putArms(context, [addFeedback(arm, fb, now, hl)]);
      await tx.putFeedback(fb);
      return previous ? 'replaced' : 'added';
    });
  }

  /**
   * Every configuration known in a context, best first (posterior mean reward). With `tenant: null` the
   * evidence of every tenant on that stack is pooled. `evidence: false` skips reading the run history
   * for `lastEvidence` (the dashboard index and the metrics scrape do not show it).
   */
  async arms(
    raw: { tenant: string | null; language: string; framework: string },
    options: { evidence?: boolean } = {},
  ): Promise<ArmReport[]> {
    return (await this.armsOfContexts([raw], options))[0]!;
  }

  /**
   * `arms` for many contexts at once (a list that spans stacks): the bans are read once, and the pooled
   * contexts' arms in one read for all their stacks.
   */
  async armsOfContexts(
    raws: ReadonlyArray<{ tenant: string | null; language: string; framework: string }>,
    options: { evidence?: boolean } = {},
  ): Promise<ArmReport[][]> {
    const stackOf = (raw: { language: string; framework: string }) => ({
      language: raw.language.trim().toLowerCase(),
      framework: (raw.framework || 'generic').trim().toLowerCase(),
    });
    const pooledStacks = raws.filter((r) => r.tenant === null).map(stackOf);
    const [banList, stackRows] = await Promise.all([
      this.store.listBans(),
      pooledStacks.length ? this.store.getArmsForStacks(pooledStacks) : Promise.resolve([]),
    ]);
    const bans = banList.map((b) => b.hash);
    return Promise.all(
      raws.map(async (raw) => {
        const { language, framework } = stackOf(raw);
        if (raw.tenant === null) {
          const pooled = new Map<string, ArmEvidence>();
          for (const r of stackRows) {
            if (r.context.language !== language || r.context.framework !== framework) continue;
            const a = decayTo(r.arm, r.contextRuns, this.options.halfLifeRuns);
            const p = pooled.get(a.hash);
            if (!p) {
              pooled.set(a.hash, { ...a, slot: 0 });
              continue;
            }
            p.successes += a.successes;
            p.failures += a.failures;
            p.feedbackPositive += a.feedbackPositive;
            p.feedbackNegative += a.feedbackNegative;
            p.durationWeight += a.durationWeight;
            p.durationSum += a.durationSum;
            p.runsTotal += a.runsTotal;
            p.successesTotal += a.successesTotal;
            p.lastDurationS = a.lastDurationS ?? p.lastDurationS;
            p.stagesCount = a.stagesCount ?? p.stagesCount;
            // pooled: broken only where it is broken everywhere it ran
            if (a.brokenAt === null) p.brokenAt = null;
          }
          const entries = [...pooled.values()].map((arm) => ({ arm, contextRuns: 0 }));
          return this.rank(entries, bans, { pooled: true });
        }
        const context = normaliseContext({ tenant: raw.tenant, language, framework });
        const [runs, stored, lastEvidence] = await Promise.all([
          this.store.getContextRuns(context),
          this.store.getArms(context),
          options.evidence === false ? undefined : this.store.latestEvidence(context),
        ]);
        const entries = stored.map((arm) => ({ arm, contextRuns: runs }));
        return this.rank(entries, bans, { pooled: false, lastEvidence });
      }),
    );
  }

  /**
   * The posterior report of stored evidence, best first: what `arms` computes after reading, for a
   * caller that read many contexts' arms at once (the metrics scrape, the dashboard index). No I/O.
   */
  rank(
    entries: Array<{ arm: ArmEvidence; contextRuns: number }>,
    bans: string[],
    o: { pooled?: boolean; lastEvidence?: Map<string, string> } = {},
  ): ArmReport[] {
    const lastEvidence = o.lastEvidence ?? new Map<string, string>();
    const reports = entries.map(({ arm, contextRuns }) => {
      const stats = armStats(arm, contextRuns, this.options);
      const { low, high } = betaInterval(stats.alpha, stats.beta, 0.9);
      const mean = stats.alpha / (stats.alpha + stats.beta);
      const decayed = decayTo(arm, contextRuns, this.options.halfLifeRuns);
      return {
        hash: arm.hash,
        source: arm.source,
        runs: arm.runsTotal,
        successes: arm.successesTotal,
        effectiveRuns: decayed.successes + decayed.failures,
        mean,
        low,
        high,
        expectedReward: posteriorMeanReward(stats),
        broken: o.pooled ? arm.brokenAt !== null : isBrokenOut(arm, contextRuns, this.options),
        banned: isBanned(arm.hash, bans),
        gated: passesGate(arm.runsTotal, mean, this.options),
        lastDurationS: arm.lastDurationS,
        meanDurationS: stats.durationS,
        stagesCount: stats.stagesCount,
        lastEvidence: lastEvidence.get(arm.hash) ?? null,
      } satisfies ArmReport;
    });
    return reports.sort((a, b) => b.expectedReward - a.expectedReward || b.runs - a.runs);
  }

  async isEligible(
    raw: LearningContext,
    hash: string,
    source?: ArmSource,
  ): Promise<{ eligible: boolean; reason: IneligibleReason | null }> {
    const context = normaliseContext(raw);
    const bans = (await this.store.listBans()).map((b) => b.hash);
    if (isBanned(hash, bans)) return { eligible: false, reason: 'banned' };
    const [runs, stored] = await Promise.all([this.store.getContextRuns(context), this.store.getArms(context)]);
    const arm = stored.find((a) => a.hash === hash.toLowerCase());
    if (isBrokenOut(arm, runs, this.options)) return { eligible: false, reason: 'broken' };
    if ((source ?? arm?.source) === 'learned') {
      const stats = armStats(arm ?? emptyArm(hash, 'learned'), runs, this.options);
      if (!passesGate(arm?.runsTotal ?? 0, stats.alpha / (stats.alpha + stats.beta), this.options)) {
        return { eligible: false, reason: 'gated' };
      }
    }
    return { eligible: true, reason: null };
  }

  async ban(hash: string, reason: string | null = null): Promise<void> {
    const h = validHash(hash);
    await this.store.putBan({ hash: h, reason, at: this.now().toISOString() });
  }

  async bans(): Promise<Ban[]> {
    return this.store.listBans();
  }

  async unban(hash: string): Promise<boolean> {
    return this.store.deleteBan(validHash(hash));
  }

  /** Deletes a project's or a tenant's evidence; the affected posteriors are rebuilt from what remains. */
  async forget(target: { projectPath: string } | { tenant: string }): Promise<{ runs: number }> {
    if ('tenant' in target) return this.store.forgetTenant(target.tenant.trim().toLowerCase());
    return this.store.transaction(async (tx) => {
      const { contexts, runs } = await tx.forgetProject(target.projectPath);
      for (const c of contexts) await this.rebuildIn(tx, c);
      return { runs };
    });
  }

  /** Replays a context's stored runs and feedback into fresh posteriors (same result as the live updates). */
  async rebuild(raw: LearningContext): Promise<ArmEvidence[]> {
    return this.store.transaction((tx) => this.rebuildIn(tx, normaliseContext(raw)));
  }

  private async rebuildIn(tx: LearningStore, context: LearningContext): Promise<ArmEvidence[]> {
    const runsCounter = await tx.lockContext(context);
    const [runs, feedback, existing] = await Promise.all([
      tx.listRuns(context),
      tx.listFeedback(context),
      tx.getArms(context),
    ]);
    const sources = new Map<string, ArmSource>(existing.map((a) => [a.hash, a.source]));
    const rebuilt = [...replayArms(sources, runs, feedback, runsCounter, this.options).values()];
    await tx.replaceArms(context, rebuilt);
    return rebuilt;
  }

  /** The attribution line of a recorded pipeline, for `/pipeline status`; null when none was recorded. */
  async runEvidence(pipelineId: number): Promise<string | null> {
    return (await this.store.getRuns([pipelineId]))[0]?.attributionSummary ?? null;
  }

  /**
   * What the learner recorded for a pipeline (the proposal outcome reply): its attribution class and line,
   * or null class for a run stored without attribution (counted green = works, red = broken); null when the
   * learner holds no run for it (not recorded, or canceled).
   */
  async recordedRun(pipelineId: number): Promise<RecordedRun | null> {
    const [run] = await this.store.getRuns([pipelineId]);
    if (!run) return null;
    return {
      success: run.success,
      attribution: run.attribution ?? null,
      summary: run.attributionSummary ?? null,
      testsTotal: run.testsTotal ?? null,
      testsFailed: run.testsFailed ?? null,
    };
  }

  async failureStats(filter: Partial<LearningContext> & { configHash?: string }): Promise<JobFailureStat[]> {
    return this.store.jobFailureStats(filter);
  }

  async decisions(filter?: Parameters<LearningStore['listDecisions']>[0]): Promise<DecisionRecord[]> {
    return this.store.listDecisions(filter);
  }
}

/**
 * The reward a decision gets from its pipeline: v2 when the run was attributed, v1 for runs without
 * attribution and for decisions already rewarded under v1 (a retried pipeline keeps its decision's formula).
 */
export function rewardFor(run: StoredRun, previous: RewardParts | null): RewardParts | null {
  if (!run.attribution || previous?.formulaVersion === 'v1') return rewardParts(run);
  return rewardPartsV2({ ...run, attribution: run.attribution });
}

function validHash(hash: string): string {
  const h = hash.trim().toLowerCase();
  if (!HASH_RE.test(h)) {
    throw new UserFacingError(`"${hash}" is not a configuration hash (7 to 64 hex characters)`, { exitCode: 2 });
  }
  return h;
}

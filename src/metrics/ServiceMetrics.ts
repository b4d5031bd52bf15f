import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';
import { staleWhileRevalidate } from './staleWhileRevalidate.js';

/** One process's metrics as prom-client's `getMetricsAsJSON` gives them (what worker processes send). */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** A context's best arm as the learner sees it now (posterior mean and 90 % credible interval). */
export interface TopArm {
  tenant: string;
  language: string;
  framework: string;
  hash: string;
  source: string;
  mean: number;
  low: number;
  high: number;
  runs: number;
}

/** What the scrape reads from the database (shared by every process on one PostgreSQL). */
export interface MetricsSource {
  queue(): Promise<Array<{ kind: string; status: string; count: number; oldestAgeS: number | null }>>;
  decisions(): Promise<Array<{ policy: string; source: string; kind: string; count: number }>>;
  rewards(): Promise<Array<{ attribution: string; count: number }>>;
  /** the contexts with the most runs, at most `limit` of them */
  topArms(limit: number): Promise<TopArm[]>;
}

export interface MetricsOptions {
  source?: MetricsSource;
  /** cap on per-context series (each context adds 3 gauges); see docs/metrics.md */
  maxContexts?: number;
  /**
   * Database figures are read at most this often: a scrape finding them older starts a refresh in
   * the background and answers with the last ones, so a scrape never waits on the database once it
   * has figures (they are at most one scrape interval plus this old). 0 = read on every scrape.
   */
  dbMaxAgeMs?: number;
  /** process metrics (CPU, RSS, heap, event-loop lag, GC); off in tests that build many registries */
  processMetrics?: boolean;
  /**
   * The other processes' metrics (`serve --workers N`: the worker processes'), merged into every scrape
   * with prom-client's cluster aggregation: counters and histograms summed, each metric's own aggregator
   * otherwise. Worker processes have no `source`: database figures come from this process alone.
   */
  peers?: () => Promise<MetricsSnapshot[]>;
}

const PREFIX = 'pipeline_learner_';
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Every metric the service exports, on its own registry. Counters and histograms move in the
 * process that did the work; queue, decision, reward and posterior figures are read from the
 * database at scrape time, so every process reports the same shared state.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly deliveries: Counter<'event' | 'outcome'>;
  readonly ackSeconds: Histogram<'outcome'>;
  readonly jobSeconds: Histogram<'kind' | 'result'>;
  readonly jobFailures: Counter<'kind' | 'reason'>;
  readonly gitlabCalls: Counter<'endpoint' | 'status'>;
  readonly gitlabSeconds: Histogram<'endpoint'>;
  readonly gitlabRetryAfterSeconds: Counter<'endpoint'>;
  readonly gitlabCallsPerPipeline: Histogram<'part'>;
  readonly gitlabBudgetRemaining: Gauge;
  readonly gitlabBudgetWaitSeconds: Counter;
  private readonly peers: MetricsOptions['peers'];

  constructor(options: MetricsOptions = {}) {
    this.peers = options.peers;
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.deliveries = new Counter({
      name: `${PREFIX}webhook_deliveries_total`,
      help: 'Webhook deliveries by X-Gitlab-Event and outcome (accepted, unauthorized, rejected, unavailable, error)',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.ackSeconds = new Histogram({
      name: `${PREFIX}webhook_ack_seconds`,
      help: 'Time from request to webhook answer',
      labelNames: ['outcome'],
      buckets: ACK_BUCKETS,
      registers,
    });
    this.jobSeconds = new Histogram({
      name: `${PREFIX}job_duration_seconds`,
      help: 'Job handler time by kind and result (ok, retry, failed)',
      labelNames: ['kind', 'result'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.jobFailures = new Counter({
      name: `${PREFIX}job_failures_total`,
      help: 'Failed job attempts by kind and reason (retryable, permanent)',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.gitlabCalls = new Counter({
      name: `${PREFIX}gitlab_calls_total`,
      help: 'GitLab API calls by operation and HTTP status (ok, 4xx/5xx code, timeout, network)',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.gitlabSeconds = new Histogram({
      name: `${PREFIX}gitlab_call_seconds`,
      help: 'GitLab API call time by operation',
      labelNames: ['endpoint'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.gitlabRetryAfterSeconds = new Counter({
      name: `${PREFIX}gitlab_retry_after_seconds_total`,
      help: 'Seconds GitLab asked us to wait (429 Retry-After), by operation',
      labelNames: ['endpoint'],
      registers,
    });
    this.gitlabCallsPerPipeline = new Histogram({
      name: `${PREFIX}gitlab_calls_per_pipeline`,
      help: 'GitLab calls per recorded pipeline: part="facts" for the configuration, Dockerfile and detection (the budget: at most 1.1 on average), part="total" for all of the job (test reports and notes included)',
      labelNames: ['part'],
      buckets: [0, 1, 2, 3, 4, 6, 8, 12, 20],
      registers,
    });
    this.gitlabBudgetRemaining = new Gauge({
      name: `${PREFIX}gitlab_budget_remaining`,
      help: 'Tokens left in the shared GitLab call budget as a process last saw it (negative: calls queued behind the refill or a 429); the lowest over the processes',
      registers,
      aggregator: 'min',
    });
    this.gitlabBudgetWaitSeconds = new Counter({
      name: `${PREFIX}gitlab_budget_wait_seconds_total`,
      help: 'Seconds GitLab calls waited for the shared call budget',
      registers,
    });
    if (options.source) this.registerDatabaseGauges(options.source, options.maxContexts ?? 50, options.dbMaxAgeMs ?? 0);
  }

  private registerDatabaseGauges(source: MetricsSource, maxContexts: number, maxAgeMs: number): void {
    const registers = [this.registry];
    // one snapshot of every database figure per scrape (or per maxAgeMs), shared by all the gauges
    const snapshot = staleWhileRevalidate(async () => {
      const [queue, decisions, rewards, top] = await Promise.all([
        source.queue(),
        source.decisions(),
        source.rewards(),
        source.topArms(maxContexts),
      ]);
      return { queue, decisions, rewards, top };
    }, maxAgeMs);
    const queue = async () => (await snapshot()).queue;
    new Gauge({
      name: `${PREFIX}queue_jobs`,
      help: 'Jobs by kind and status (queued, running, done, dead); dead = dead letters',
      labelNames: ['kind', 'status'],
      registers,
      async collect() {
        const rows = await queue();
        this.reset();
        for (const r of rows) this.set({ kind: r.kind, status: r.status }, r.count);
      },
    });
    new Gauge({
      name: `${PREFIX}queue_oldest_age_seconds`,
      help: 'Age of the oldest queued or running job, by kind',
      labelNames: ['kind'],
      registers,
      async collect() {
        const ages = new Map<string, number>();
        for (const r of await queue())
          if (r.oldestAgeS !== null && (r.status === 'queued' || r.status === 'running'))
            ages.set(r.kind, Math.max(r.oldestAgeS, ages.get(r.kind) ?? 0));
        this.reset();
        for (const [kind, age] of ages) this.set({ kind }, age);
      },
    });
    new Gauge({
      name: `${PREFIX}decisions`,
      help: 'Logged decisions by policy, chosen arm source and kind (explore, exploit, forced)',
      labelNames: ['policy', 'source', 'kind'],
      registers,
      async collect() {
        const rows = (await snapshot()).decisions;
        this.reset();
        for (const r of rows) this.set({ policy: r.policy, source: r.source, kind: r.kind }, r.count);
      },
    });
    new Gauge({
      name: `${PREFIX}rewards`,
      help: 'Recorded pipeline runs by failure attribution class (works, broken, no_evidence, weak, partial, flaky)',
      labelNames: ['attribution'],
      registers,
      async collect() {
        const rows = (await snapshot()).rewards;
        this.reset();
        for (const r of rows) this.set({ attribution: r.attribution }, r.count);
      },
    });
    const top = async () => (await snapshot()).top;
    const perContext = (suffix: string, help: string, value: (t: TopArm) => number) => {
      // up to maxContexts series each: rebuilt only when the figures are new, not on every scrape
      let applied: TopArm[] | null = null;
      return new Gauge({
        name: `${PREFIX}context_top_arm_${suffix}`,
        help: `${help} of each context's best arm (the ${maxContexts} contexts with most runs)`,
        labelNames: ['tenant', 'language', 'framework'],
        registers,
        async collect() {
          const arms = await top();
          if (arms === applied) return;
          applied = arms;
          this.reset();
          for (const t of arms) this.set({ tenant: t.tenant, language: t.language, framework: t.framework }, value(t));
        },
      });
    };
    perContext('mean', 'Posterior mean success probability', (t) => t.mean);
    perContext('low', 'Lower end of the 90 % credible interval', (t) => t.low);
    perContext('high', 'Upper end of the 90 % credible interval', (t) => t.high);
  }

  /** Prometheus text exposition: this process's metrics, with the peers' merged in when there are any. */
  async text(): Promise<{ contentType: string; body: string }> {
    if (!this.peers) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const [own, peers] = await Promise.all([this.registry.getMetricsAsJSON(), this.peers()]);
    const merged = AggregatorRegistry.aggregate([own, ...peers]);
    return { contentType: this.registry.contentType, body: await merged.metrics() };
  }
}

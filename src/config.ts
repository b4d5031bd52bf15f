import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { UserFacingError } from './errors.js';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number) => z.coerce.number().int().min(min);
const num = z.coerce.number().finite();
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const url = z.string().trim().url();

/**
 * Every setting the service reads. Standard names from DESIGN.md; everything else is PIPELINE_LEARNER_*.
 * The README's configuration table mirrors this list.
 */
const schema = z.object({
  PORT: int(0).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  CHROMA_URL: url.optional(),
  GITLAB_URL: url.optional(),
  GITLAB_TOKEN: z.string().optional(),
  GITLAB_WEBHOOK_SECRET: z.string().optional(),
  GITLAB_WEBHOOK_SIGNING_TOKEN: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>')
    .optional(),
  PUBLIC_URL: url.optional(),
  LEARN_COMPONENT: z.string().optional(),
  API_TOKEN: z.string().optional(),
  PUBLIC_READ: bool.default(false),
  RECONCILE_INTERVAL_S: int(0).default(300),
  OLLAMA_HOST: z.string().optional(),
  OLLAMA_MODEL: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  PIPELINE_LEARNER_PAYLOAD_RETENTION_DAYS: int(0).default(30),
  PIPELINE_LEARNER_MAX_BODY_BYTES: int(1).default(25 * 1024 * 1024),
  PIPELINE_LEARNER_SIGNATURE_TOLERANCE_S: int(1).default(300),
  PIPELINE_LEARNER_WORKER_CONCURRENCY: int(1).default(4),
  PIPELINE_LEARNER_JOB_MAX_ATTEMPTS: int(1).default(8),
  PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS: int(1).default(2000),
  PIPELINE_LEARNER_JOB_BACKOFF_MAX_MS: int(1).default(15 * 60 * 1000),
  PIPELINE_LEARNER_JOB_POLL_MS: int(10).default(500),
  PIPELINE_LEARNER_JOB_LEASE_MS: int(1000).default(60_000),
  PIPELINE_LEARNER_GITLAB_TIMEOUT_MS: int(100).default(10_000),
  PIPELINE_LEARNER_RECONCILE_LOOKBACK_H: int(1).default(24),
  PIPELINE_LEARNER_DRAIN_TIMEOUT_S: int(1).default(30),
  PIPELINE_LEARNER_METRICS_PORT: int(0).optional(),
  PIPELINE_LEARNER_METRICS_HOST: z.string().default('127.0.0.1'),
  PIPELINE_LEARNER_METRICS_MAX_CONTEXTS: int(0).default(50),

  PIPELINE_LEARNER_POLICY: z.enum(['thompson', 'greedy', 'epsilon_greedy', 'ucb1']).default('thompson'),
  PIPELINE_LEARNER_HALF_LIFE_RUNS: num.positive().default(1000),
  PIPELINE_LEARNER_BROKEN_AFTER_FAILURES: int(1).default(3),
  PIPELINE_LEARNER_GATE_MIN_RUNS: int(0).default(3),
  PIPELINE_LEARNER_GATE_MIN_MEAN: num.min(0).max(1).default(0.7),
  PIPELINE_LEARNER_SHARE_ACROSS_TENANTS: bool.default(false),
  PIPELINE_LEARNER_FEEDBACK_WEIGHT: num.min(0).default(0.5),

  PIPELINE_LEARNER_ALLOWLIST: list.default([]),
  PIPELINE_LEARNER_DRY_RUN: bool.default(false),
  PIPELINE_LEARNER_APPROVE_LEVEL: int(0).default(30),
  PIPELINE_LEARNER_READ_LEVEL: int(0).default(20),
  PIPELINE_LEARNER_RATE_USER_PER_HOUR: int(1).default(30),
  PIPELINE_LEARNER_RATE_MR_PER_HOUR: int(1).default(60),
  PIPELINE_LEARNER_COMMIT_AUTHOR_NAME: z.string().default('pipeline-learner'),
  PIPELINE_LEARNER_COMMIT_AUTHOR_EMAIL: z.string().default('pipeline-learner@noreply.invalid'),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  chromaUrl: string | null;
  gitlab: { url: string; token: string; timeoutMs: number } | null;
  webhook: {
    secret: string | null;
    signingToken: string | null;
    toleranceS: number;
    maxBodyBytes: number;
    retentionDays: number;
  };
  publicUrl: string | null;
  learnComponent: string | null;
  apiToken: string | null;
  publicRead: boolean;
  reconcileIntervalS: number;
  reconcileLookbackH: number;
  /** a separate /metrics listener (no auth; loopback unless told otherwise); null = /metrics on the main port */
  metrics: { port: number | null; host: string; maxContexts: number };
  /** how long SIGTERM (or the parent going away) waits for running jobs before exiting anyway */
  drainTimeoutS: number;
  ollama: { host: string; model: string } | null;
  logLevel: Env['LOG_LEVEL'];
  jobs: {
    concurrency: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    pollMs: number;
    leaseMs: number;
  };
  learner: {
    policy: Env['PIPELINE_LEARNER_POLICY'];
    halfLifeRuns: number;
    brokenAfterFailures: number;
    gateMinRuns: number;
    gateMinMean: number;
    shareAcrossTenants: boolean;
    feedbackWeight: number;
  };
  bot: {
    allowlist: string[];
    dryRun: boolean;
    approveLevel: number;
    readLevel: number;
    ratePerUserPerHour: number;
    ratePerMrPerHour: number;
    commitAuthorName: string;
    commitAuthorEmail: string;
  };
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME?.trim();
  return join(xdg ? xdg : join(homedir(), '.local', 'share'), 'pipeline-learner');
}

/** Reads the environment once; every problem is reported together, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new UserFacingError(`invalid configuration:\n${lines.join('\n')}`, { exitCode: 2 });
  }
  const e = parsed.data;
  if ((e.GITLAB_URL && !e.GITLAB_TOKEN) || (!e.GITLAB_URL && e.GITLAB_TOKEN)) {
    throw new UserFacingError('invalid configuration:\n  GITLAB_URL and GITLAB_TOKEN must be set together', {
      exitCode: 2,
    });
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR ?? defaultDataDir(env),
    databaseUrl: e.DATABASE_URL ?? null,
    chromaUrl: e.CHROMA_URL ?? null,
    gitlab:
      e.GITLAB_URL && e.GITLAB_TOKEN
        ? {
            url: e.GITLAB_URL.replace(/\/+$/, ''),
            token: e.GITLAB_TOKEN,
            timeoutMs: e.PIPELINE_LEARNER_GITLAB_TIMEOUT_MS,
          }
        : null,
    webhook: {
      secret: e.GITLAB_WEBHOOK_SECRET ?? null,
      signingToken: e.GITLAB_WEBHOOK_SIGNING_TOKEN ?? null,
      toleranceS: e.PIPELINE_LEARNER_SIGNATURE_TOLERANCE_S,
      maxBodyBytes: e.PIPELINE_LEARNER_MAX_BODY_BYTES,
      retentionDays: e.PIPELINE_LEARNER_PAYLOAD_RETENTION_DAYS,
    },
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    learnComponent: e.LEARN_COMPONENT ?? null,
    apiToken: e.API_TOKEN ?? null,
    publicRead: e.PUBLIC_READ,
    reconcileIntervalS: e.RECONCILE_INTERVAL_S,
    reconcileLookbackH: e.PIPELINE_LEARNER_RECONCILE_LOOKBACK_H,
    drainTimeoutS: e.PIPELINE_LEARNER_DRAIN_TIMEOUT_S,
    metrics: {
      port: e.PIPELINE_LEARNER_METRICS_PORT ?? null,
      host: e.PIPELINE_LEARNER_METRICS_HOST,
      maxContexts: e.PIPELINE_LEARNER_METRICS_MAX_CONTEXTS,
    },
    ollama: e.OLLAMA_HOST && e.OLLAMA_MODEL ? { host: e.OLLAMA_HOST, model: e.OLLAMA_MODEL } : null,
    logLevel: e.LOG_LEVEL,
    jobs: {
      concurrency: e.PIPELINE_LEARNER_WORKER_CONCURRENCY,
      maxAttempts: e.PIPELINE_LEARNER_JOB_MAX_ATTEMPTS,
      backoffBaseMs: e.PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS,
      backoffMaxMs: e.PIPELINE_LEARNER_JOB_BACKOFF_MAX_MS,
      pollMs: e.PIPELINE_LEARNER_JOB_POLL_MS,
      leaseMs: e.PIPELINE_LEARNER_JOB_LEASE_MS,
    },
    learner: {
      policy: e.PIPELINE_LEARNER_POLICY,
      halfLifeRuns: e.PIPELINE_LEARNER_HALF_LIFE_RUNS,
      brokenAfterFailures: e.PIPELINE_LEARNER_BROKEN_AFTER_FAILURES,
      gateMinRuns: e.PIPELINE_LEARNER_GATE_MIN_RUNS,
      gateMinMean: e.PIPELINE_LEARNER_GATE_MIN_MEAN,
      shareAcrossTenants: e.PIPELINE_LEARNER_SHARE_ACROSS_TENANTS,
      feedbackWeight: e.PIPELINE_LEARNER_FEEDBACK_WEIGHT,
    },
    bot: {
      allowlist: e.PIPELINE_LEARNER_ALLOWLIST,
      dryRun: e.PIPELINE_LEARNER_DRY_RUN,
      approveLevel: e.PIPELINE_LEARNER_APPROVE_LEVEL,
      readLevel: e.PIPELINE_LEARNER_READ_LEVEL,
      ratePerUserPerHour: e.PIPELINE_LEARNER_RATE_USER_PER_HOUR,
      ratePerMrPerHour: e.PIPELINE_LEARNER_RATE_MR_PER_HOUR,
      commitAuthorName: e.PIPELINE_LEARNER_COMMIT_AUTHOR_NAME,
      commitAuthorEmail: e.PIPELINE_LEARNER_COMMIT_AUTHOR_EMAIL,
    },
  };
}

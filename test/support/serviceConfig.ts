import { type Config, loadConfig } from '../../src/config.js';
import type { FakeGitLab } from '../fakes/fakeGitLab.js';

/**
 * The configuration the in-process end-to-end tests start the service with: the fake GitLab, the given
 * secrets, no reconciler, and a worker that polls and retries quickly (nothing asserts on time).
 * `extra` adds or overrides variables.
 */
export function serviceConfig(
  fake: FakeGitLab,
  o: { webhookSecret: string; apiToken: string; dataDir: string },
  extra: Record<string, string> = {},
): Config {
  return loadConfig({
    GITLAB_URL: fake.url,
    GITLAB_TOKEN: fake.token,
    GITLAB_WEBHOOK_SECRET: o.webhookSecret,
    API_TOKEN: o.apiToken,
    PORT: '0',
    HOST: '127.0.0.1',
    RECONCILE_INTERVAL_S: '0',
    DATA_DIR: o.dataDir,
    LOG_LEVEL: 'silent',
    PIPELINE_LEARNER_JOB_POLL_MS: '50',
    PIPELINE_LEARNER_JOB_BACKOFF_BASE_MS: '200',
    PIPELINE_LEARNER_JOB_BACKOFF_MAX_MS: '2000',
    ...extra,
  });
}

import { Writable } from 'node:stream';
import type { Store } from '../../src/db/openDatabase.js';
import { createApp } from '../../src/http/createApp.js';
import type { LearnRouteOptions } from '../../src/http/learnRoutes.js';
import type { WebhookOptions } from '../../src/http/webhookRoute.js';
import { createLogger, type Logger } from '../../src/log.js';

/** A logger whose JSON lines land in `lines`, to assert on what is (not) logged. */
export function captureLogger(secrets: string[] = []): { log: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', secrets, destination });
  return { log, lines, text: () => lines.join('') };
}

export function testApp(
  store: Store,
  log: Logger,
  webhook: Partial<WebhookOptions> = {},
  learn: Partial<LearnRouteOptions> = {},
) {
  return createApp({
    log,
    ready: async () => true,
    webhook: {
      db: store.db,
      log,
      secret: 'hook-secret-value',
      signingToken: null,
      toleranceS: 300,
      maxBodyBytes: 25 * 1024 * 1024,
      maxAttempts: 5,
      ...webhook,
    },
    learn: { db: store.db, apiToken: 'api-token-value', publicRead: false, gitlabUrl: null, record: null, ...learn },
  });
}

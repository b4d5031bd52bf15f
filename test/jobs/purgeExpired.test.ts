import { describe, expect, it } from 'vitest';
import { countUse } from '../../src/db/commandStore.js';
import { purgeExpired } from '../../src/jobs/handlers/purgeExpired.js';
import { createLogger } from '../../src/log.js';
import { openTestStore, storeKinds } from '../support/db.js';

describe.each(storeKinds)('retention purge (%s)', (kind) => {
  it('drops the command rate-limit counters of ended windows and keeps the current ones', async (ctx) => {
    const store = await openTestStore(kind);
    if (!store) return ctx.skip();
    try {
      const now = new Date('2026-12-05T10:30:00Z');
      const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000);
      await countUse(store.db, 'user', 'alice', hoursAgo(30));
      await countUse(store.db, 'mr', '42!7', hoursAgo(3));
      await countUse(store.db, 'user', 'alice', hoursAgo(1));
      await countUse(store.db, 'user', 'alice', now);
      expect(await countUse(store.db, 'user', 'alice', now)).toBe(2);

      const log = createLogger({ level: 'silent' });
      const first = await purgeExpired({ db: store.db, log, retentionDays: 30, now: () => now });
      expect(first.rateCounters).toBe(2);
      const left = await store.db
        .selectFrom('command_rate_counters')
        .select(['scope', 'key', 'window_start', 'count'])
        .orderBy('window_start')
        .execute();
      expect(left.map((r) => [r.scope, r.key, new Date(r.window_start).toISOString(), Number(r.count)])).toEqual([
        ['user', 'alice', '2026-12-05T09:00:00.000Z', 1],
        ['user', 'alice', '2026-12-05T10:00:00.000Z', 2],
      ]);
      // the current window still counts on after a purge
      expect(await countUse(store.db, 'user', 'alice', now)).toBe(3);
      expect((await purgeExpired({ db: store.db, log, retentionDays: 30, now: () => now })).rateCounters).toBe(0);
    } finally {
      await store.close();
    }
  });
});

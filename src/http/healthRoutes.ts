import { Hono } from 'hono';

/** /healthz: the process answers. /readyz: the database answers and is migrated (503 otherwise). */
export function healthRoutes(o: { ready: () => Promise<boolean>; timeoutMs?: number }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), o.timeoutMs ?? 2000).unref?.());
    const ok = await Promise.race([o.ready().catch(() => false), timeout]);
    return ok ? c.json({ status: 'ready' }) : c.json({ status: 'unavailable', reason: 'database unreachable' }, 503);
  });
  return app;
}

import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { annotate, withTraceparent } from '../metrics/spans.js';
import { dedupeKey, routeEvent } from '../webhooks/routeEvent.js';
import {
  createIntakeBatcher,
  type IntakeBatcher,
  type IntakeResult,
  IntakeUnavailableError,
  UnstorableDeliveryError,
} from './intakeBatcher.js';
import { redactPayload } from './redactPayload.js';
import { safeEqual, verifySignature } from './verifyWebhook.js';

/** What a 503 asks for when neither the database nor the spool can store a delivery. */
const RETRY_AFTER_S = 30;

export interface WebhookOptions {
  db: Db;
  log: Logger;
  /** X-Gitlab-Token; null only when a signing token is configured */
  secret: string | null;
  /** whsec_…: Standard Webhooks signatures required when set */
  signingToken: string | null;
  toleranceS: number;
  maxBodyBytes: number;
  maxAttempts: number;
  /** concurrent intake statements: 1 for the embedded store, a few for PostgreSQL */
  maxWritesInFlight?: number;
  /** the intake (with its spool) built by the caller; default: one on `db` without a spool */
  intake?: IntakeBatcher;
  /** called after a job was enqueued (wakes the in-process worker) */
  onEnqueued?: () => void;
  nowMs?: () => number;
}

/** `\u0000` and lone UTF-16 surrogates (`\ud800`) are valid JSON escapes that jsonb refuses. */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f][0-9a-f]{2})/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must be removed
const UNSTORABLE_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * GitLab's payloads are a few levels deep; anything far deeper is not from GitLab, and every recursive
 * step after parsing (redaction, schema checks, serialisation, jsonb) would pay for it or overflow.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Deepest nesting of arrays and objects in JSON text, stopping as soon as `limit` is passed. A plain
 * scan (strings skipped), so a hostile body is refused before anything recursive touches it.
 */
function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

const UNSTORABLE_CHAR = new RegExp(UNSTORABLE_CHARS.source);
const clean = (s: string) => s.replace(UNSTORABLE_CHARS, (ch) => (ch === '\u0000' ? '' : '\ufffd'));

/**
 * JSON.parse, except that strings jsonb cannot hold are made storable, in values and in keys alike:
 * NUL removed, a lone surrogate replaced by U+FFFD. Only bodies that contain such an escape pay for
 * the reviver. Callers bound the depth first (the reviver walk is recursive).
 */
function parseStorableJson(text: string): unknown {
  if (!UNSTORABLE_ESCAPE.test(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, value) => {
    if (typeof value === 'string') return clean(value);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const keys = Object.keys(value);
    if (!keys.some((k) => UNSTORABLE_CHAR.test(k))) return value;
    return Object.fromEntries(keys.map((k) => [clean(k), (value as Record<string, unknown>)[k]]));
  });
}

/** POST /webhooks/gitlab: verify → persist + enqueue (one statement) → 202. Never calls out. */
export function webhookRoute(o: WebhookOptions): Hono {
  const app = new Hono();
  const now = o.nowMs ?? Date.now;
  const batcher = o.intake ?? createIntakeBatcher(o.db, { maxInFlight: o.maxWritesInFlight ?? 1, log: o.log });
  const unauthorized = (reason: string) => {
    // the reason is logged, never the offered value
    o.log.warn({ reason }, 'webhook refused: bad credentials');
    return new Response(JSON.stringify({ error: 'invalid or missing webhook credentials' }), {
      status: 401,
      headers: { 'content-type': 'application/json' },
    });
  };

  const tooLarge = (c: Context) => c.json({ error: `payload larger than ${o.maxBodyBytes} bytes` }, 413);
  const limitStreamed = bodyLimit({ maxSize: o.maxBodyBytes, onError: tooLarge });

  app.post(
    '/webhooks/gitlab',
    async (c, next) => {
      if (o.secret !== null) {
        const offered = c.req.header('x-gitlab-token');
        if (offered === undefined || !safeEqual(o.secret, offered)) return unauthorized('X-Gitlab-Token mismatch');
      }
      await next();
    },
    // A declared length is checked here and the body then read straight from the socket: touching
    // `c.req.raw.body` (as hono's bodyLimit does) builds a web Request and stream per delivery, which
    // cost more than the rest of the route. Bodies without a length still go through bodyLimit.
    async (c, next) => {
      const headers = c.req.raw.headers;
      const declared = headers.get('content-length');
      if (declared === null || !/^\s*\d+\s*$/.test(declared) || headers.has('transfer-encoding')) {
        return limitStreamed(c, next);
      }
      if (Number(declared) > o.maxBodyBytes) return tooLarge(c);
      await next();
    },
    async (c) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const headers = c.req.raw.headers;
      if (o.signingToken) {
        const check = verifySignature({
          signingToken: o.signingToken,
          id: headers.get('webhook-id') ?? undefined,
          timestamp: headers.get('webhook-timestamp') ?? undefined,
          signature: headers.get('webhook-signature') ?? undefined,
          body: raw,
          nowS: Math.floor(now() / 1000),
          toleranceS: o.toleranceS,
        });
        if (!check.ok) return unauthorized(check.reason);
      }
      let body: unknown;
      try {
        const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
        if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
          o.log.warn({ bytes: raw.byteLength }, 'webhook refused: nesting too deep');
          return c.json(
            { error: `body nested deeper than ${MAX_JSON_DEPTH} levels; GitLab never sends such payloads` },
            400,
          );
        }
        body = parseStorableJson(text);
      } catch {
        return c.json({ error: 'body is not valid JSON' }, 400);
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) {
        return c.json({ error: 'body must be a JSON object' }, 400);
      }
      let stored: unknown;
      const redacted = () => {
        stored ??= redactPayload(body);
        return stored;
      };
      const route = routeEvent(headers, body as Record<string, unknown>, redacted, o.log);
      if ('ignored' in route) return c.json({ status: 'ignored', reason: route.ignored }, 202);
      const key = dedupeKey(headers, route, raw);
      let result: IntakeResult;
      try {
        result = await batcher.accept({
          dedupeKey: key,
          event: headers.get('x-gitlab-event') ?? route.kind,
          projectId: route.projectId,
          payload: redacted(),
          // the job carries this delivery's trace context when tracing is on (its span is the parent)
          job: { kind: route.kind, payload: withTraceparent(route.payload), maxAttempts: o.maxAttempts },
        });
      } catch (err) {
        if (err instanceof IntakeUnavailableError) {
          c.header('retry-after', String(RETRY_AFTER_S));
          return c.json({ error: `${err.message}; try again later` }, 503);
        }
        if (err instanceof UnstorableDeliveryError) {
          o.log.warn({ sql_state: err.sqlState, job_kind: route.kind }, 'webhook refused: payload not storable');
          return c.json({ error: err.message }, 400);
        }
        throw err;
      }
      if ('spooled' in result) {
        o.log.info({ job_kind: route.kind }, 'delivery spooled while the database is unavailable');
        return c.json({ status: 'spooled' }, 202);
      }
      if (result.duplicate) {
        o.log.info({ delivery_id: result.deliveryId }, 'duplicate delivery ignored');
        return c.json({ status: 'duplicate', delivery_id: result.deliveryId }, 202);
      }
      o.log.info({ delivery_id: result.deliveryId, job_id: result.jobId, job_kind: route.kind }, 'delivery accepted');
      annotate({ 'delivery.id': result.deliveryId, 'job.id': result.jobId, 'job.kind': route.kind });
      o.onEnqueued?.();
      return c.json({ status: 'accepted', delivery_id: result.deliveryId, job_id: result.jobId }, 202);
    },
  );
  return app;
}

import { createHmac } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { UserFacingError } from '../errors.js';
import { safeEqual } from './verifyWebhook.js';

function bearer(c: Context): string | null {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1]!.trim() : null;
}

/** The request carries `Authorization: Bearer <API_TOKEN>` (compared in constant time). */
function hasApiToken(c: Context, apiToken: string | null): boolean {
  const offered = bearer(c);
  return apiToken !== null && offered !== null && safeEqual(apiToken, offered);
}

export interface ReadAuth {
  apiToken: string | null;
  publicRead: boolean;
}

/** Middleware: reads want the API token unless PUBLIC_READ=true. */
export function readAccess(o: ReadAuth): MiddlewareHandler {
  return async (c, next) => {
    if (!o.publicRead && !hasApiToken(c, o.apiToken)) {
      throw new UserFacingError(
        o.apiToken
          ? 'learned configurations need Authorization: Bearer <API_TOKEN> (or PUBLIC_READ=true on the service)'
          : 'reads are closed: set API_TOKEN (and send it as a Bearer token) or PUBLIC_READ=true on the service',
        { status: 401 },
      );
    }
    await next();
  };
}

/** The dashboard's session cookie (HttpOnly, SameSite=Strict, path /dashboard; set by its login form). */
export const DASHBOARD_COOKIE = 'pl_dashboard';

/** The cookie's value: an HMAC of a fixed label under API_TOKEN (changing the token ends every session). */
export function dashboardSession(apiToken: string): string {
  return createHmac('sha256', apiToken).update('pipeline-learner dashboard session v1').digest('base64url');
}

function basicPassword(c: Context): string | null {
  const h = c.req.header('authorization');
  const m = h ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h.trim()) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/**
 * Read access for browsers (the dashboard): PUBLIC_READ, or the API token as Bearer, as the HTTP
 * Basic password (any user name), or the session cookie — each compared in constant time. The
 * dashboard answers a visitor without access with its login page, not a 401.
 */
export function dashboardSignedIn(c: Context, o: ReadAuth): boolean {
  if (o.publicRead) return true;
  if (!o.apiToken) return false;
  if (hasApiToken(c, o.apiToken)) return true;
  const basic = basicPassword(c);
  if (basic !== null && safeEqual(o.apiToken, basic)) return true;
  const cookie = getCookie(c, DASHBOARD_COOKIE);
  return cookie !== undefined && safeEqual(dashboardSession(o.apiToken), cookie);
}

/** Middleware: writes always want the API token. */
export function writeAccess(apiToken: string | null): MiddlewareHandler {
  return async (c, next) => {
    if (!hasApiToken(c, apiToken)) {
      throw new UserFacingError(
        apiToken
          ? 'this operation needs Authorization: Bearer <API_TOKEN>'
          : 'this operation needs API_TOKEN to be set on the service and sent as Authorization: Bearer <API_TOKEN>',
        { status: 401 },
      );
    }
    await next();
  };
}

/**
 * Middleware for calls from a pipeline: a `JOB-TOKEN` header (verified against GitLab by the handler,
 * which reads it with `jobToken(c)`) or the API token.
 */
export function jobTokenOrApiToken(apiToken: string | null): MiddlewareHandler {
  return async (c, next) => {
    if (!jobToken(c) && !hasApiToken(c, apiToken)) {
      throw new UserFacingError(
        'send JOB-TOKEN: $CI_JOB_TOKEN from the pipeline, or Authorization: Bearer <API_TOKEN>',
        { status: 401 },
      );
    }
    await next();
  };
}

/** The `JOB-TOKEN` header, trimmed; null when absent or empty. */
export function jobToken(c: Context): string | null {
  return c.req.header('job-token')?.trim() || null;
}

/** JSON body of a POST (token keys were already refused by `refuseTokenKeys`). */
export async function jsonBody(c: Context, example: string): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new UserFacingError(`body must be JSON: ${example}`, { status: 400 });
  }
}

/** Keys that carry a GitLab token, compared lower-cased. */
const TOKEN_KEYS = new Set(['gitlab_token', 'private_token', 'access_token', 'job_token']);

/** The first token key anywhere in a JSON value (an explicit stack: bodies can be deep). */
function findTokenKey(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (TOKEN_KEYS.has(k.toLowerCase())) return k;
      stack.push(x);
    }
  }
  return null;
}

/**
 * Middleware for `/api/v1/*`: a GitLab token in the query string or anywhere in a JSON body is
 * refused, never used — such tokens end up in logs, shell history and job traces. (Webhooks are not
 * behind this: GitLab's payloads are what they are.)
 */
export const refuseTokenKeys: MiddlewareHandler = async (c, next) => {
  let key = [...new URL(c.req.url).searchParams.keys()].find((k) => TOKEN_KEYS.has(k.toLowerCase())) ?? null;
  if (!key && (c.req.header('content-type') ?? '').includes('json')) {
    // an unreadable body is the route's to refuse, with its own example
    key = findTokenKey(await c.req.json().catch(() => null));
  }
  if (key) {
    throw new UserFacingError(
      `${key} is not accepted: tokens in requests end up in logs, shell history and job traces. The service uses its own GITLAB_TOKEN; remove ${key} and authenticate this call with the header JOB-TOKEN: $CI_JOB_TOKEN (or Authorization: Bearer <API_TOKEN>).`,
      { status: 400 },
    );
  }
  await next();
};

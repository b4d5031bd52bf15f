import type { Context } from 'hono';
import { UserFacingError } from '../errors.js';
import { safeEqual } from './verifyWebhook.js';

function bearer(c: Context): string | null {
  const h = c.req.header('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1]!.trim() : null;
}

/** The request carries `Authorization: Bearer <API_TOKEN>` (compared in constant time). */
export function hasApiToken(c: Context, apiToken: string | null): boolean {
  const offered = bearer(c);
  return apiToken !== null && offered !== null && safeEqual(apiToken, offered);
}

/** Reads want the API token unless PUBLIC_READ=true. */
export function requireRead(c: Context, o: { apiToken: string | null; publicRead: boolean }): void {
  if (o.publicRead || hasApiToken(c, o.apiToken)) return;
  throw new UserFacingError(
    o.apiToken
      ? 'learned configurations need Authorization: Bearer <API_TOKEN> (or PUBLIC_READ=true on the service)'
      : 'reads are closed: set API_TOKEN (and send it as a Bearer token) or PUBLIC_READ=true on the service',
    { status: 401 },
  );
}

/** Writes always want the API token. */
export function requireWrite(c: Context, apiToken: string | null): void {
  if (hasApiToken(c, apiToken)) return;
  throw new UserFacingError(
    apiToken
      ? 'this operation needs Authorization: Bearer <API_TOKEN>'
      : 'this operation needs API_TOKEN to be set on the service and sent as Authorization: Bearer <API_TOKEN>',
    { status: 401 },
  );
}

/** JSON body of a POST; a GitLab token in it is refused, never used. */
export async function jsonBody(c: Context, example: string): Promise<unknown> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new UserFacingError(`body must be JSON: ${example}`, { status: 400 });
  }
  if (raw && typeof raw === 'object' && 'gitlab_token' in raw) {
    throw new UserFacingError(
      'gitlab_token is not accepted: tokens in request bodies end up in logs and job traces. The service uses its own GITLAB_TOKEN; authenticate this call with the header JOB-TOKEN: $CI_JOB_TOKEN (or Authorization: Bearer <API_TOKEN>).',
      { status: 400 },
    );
  }
  return raw;
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time string equality that also hides the length of the expected value. */
export function safeEqual(expected: string, offered: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(offered).digest();
  return timingSafeEqual(a, b) && expected.length === offered.length;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Standard Webhooks (GitLab 19+): HMAC-SHA256 over `id.timestamp.body` with the key decoded from
 * `whsec_<base64>`; the header may list several `v1,<base64>` signatures. A timestamp outside the
 * tolerance is refused, so a captured request cannot be replayed later.
 */
export function verifySignature(input: {
  signingToken: string;
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Uint8Array;
  nowS: number;
  toleranceS: number;
}): SignatureCheck {
  if (!input.id || !input.timestamp || !input.signature) return { ok: false, reason: 'missing signature headers' };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'malformed webhook-timestamp' };
  if (Math.abs(input.nowS - Number(input.timestamp)) > input.toleranceS) {
    return { ok: false, reason: 'webhook-timestamp outside the allowed window' };
  }
  const key = Buffer.from(input.signingToken.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${input.id}.${input.timestamp}.`).update(input.body).digest();
  const matches = input.signature.split(' ').some((s) => {
    const [version, b64] = s.split(',', 2);
    if (version !== 'v1' || !b64) return false;
    const offered = Buffer.from(b64, 'base64');
    return offered.length === mac.length && timingSafeEqual(offered, mac);
  });
  return matches ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

/** Signs like GitLab does; for tests, the benchmark and operators checking their setup. */
export function signWebhook(signingToken: string, id: string, timestamp: string, body: string | Uint8Array): string {
  const key = Buffer.from(signingToken.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * What is kept of a webhook payload: e-mail addresses anywhere become "[REDACTED]" and the values
 * of pipeline variables (which often carry credentials) are dropped.
 */
export function redactPayload(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    return value.includes('@') ? value.replace(EMAIL, '[REDACTED]') : value;
  }
  if (Array.isArray(value)) {
    if (key === 'variables') {
      return value.map((v) =>
        v && typeof v === 'object' ? { ...(v as Record<string, unknown>), value: '[REDACTED]' } : v,
      );
    }
    return value.map((v) => redactPayload(v));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactPayload(v, k);
    return out;
  }
  return value;
}

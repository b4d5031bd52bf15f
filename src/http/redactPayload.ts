const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/**
 * What is kept of a webhook payload: e-mail addresses anywhere become "[REDACTED]" and the values
 * of pipeline variables (which often carry credentials) are dropped. Recursive: the intake bounds the
 * depth first (MAX_JSON_DEPTH).
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
    // fromEntries defines own properties: a "__proto__" key in a payload stays a key
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactPayload(v, k)]),
    );
  }
  return value;
}

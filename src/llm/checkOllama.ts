import { Ollama } from 'ollama';
import { missingModelMessage, unreachable } from './OllamaLlm.js';

export type OllamaCheck =
  | { ok: true; models: string[] }
  | { ok: false; kind: 'unavailable' | 'missing_model'; message: string };

/** `llama3.1` means `llama3.1:latest` to Ollama; a name with a tag must match exactly. */
export function isPulled(model: string, pulled: string[]): boolean {
  const want = model.includes(':') ? model : `${model}:latest`;
  return pulled.some((name) => name === model || name === want);
}

/**
 * The startup check: Ollama answers `/api/tags` and lists every model the service will ask for.
 * The message says exactly what to run; the service goes on without the LLM when this fails.
 */
export async function checkOllama(options: {
  host: string;
  models: string[];
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Promise<OllamaCheck> {
  const base = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 5000);
  const client = new Ollama({ host: options.host, fetch: (input, init) => base(input, { ...init, signal }) });
  let pulled: string[];
  try {
    const list = (await client.list()) as { models?: Array<{ name?: unknown; model?: unknown }> };
    pulled = (list.models ?? []).flatMap((m) => [m.name, m.model].filter((n): n is string => typeof n === 'string'));
  } catch (err) {
    if (signal.aborted)
      return { ok: false, kind: 'unavailable', message: `Ollama at ${options.host} did not answer /api/tags in time` };
    const status = (err as { status_code?: number }).status_code;
    if (status !== undefined)
      return {
        ok: false,
        kind: 'unavailable',
        message: `Ollama at ${options.host} answered /api/tags with HTTP ${status}`,
      };
    return { ok: false, kind: 'unavailable', message: unreachable(options.host, err).message };
  }
  const missing = [...new Set(options.models)].filter((m) => !isPulled(m, pulled));
  if (missing.length > 0)
    return {
      ok: false,
      kind: 'missing_model',
      message: missing.map((m) => missingModelMessage(options.host, m)).join('; '),
    };
  return { ok: true, models: pulled };
}

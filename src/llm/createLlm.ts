import type { Config } from '../config.js';
import type { Embedder, Llm } from './Llm.js';
import { OllamaEmbedder, OllamaLlm } from './OllamaLlm.js';

/** For the composition root: the chat model and the embedder, or nulls when OLLAMA_HOST is unset. */
export function createLlm(
  config: Pick<Config, 'ollama'>,
  options: { fetch?: typeof fetch } = {},
): {
  llm: Llm | null;
  embedder: Embedder | null;
  /** the models the startup check (checkOllama) must find pulled */
  models: string[];
} {
  const o = config.ollama;
  if (!o) return { llm: null, embedder: null, models: [] };
  const common = { host: o.host, timeoutMs: o.timeoutMs, fetch: options.fetch };
  return {
    llm: new OllamaLlm({ ...common, model: o.model }),
    embedder: o.embedModel ? new OllamaEmbedder({ ...common, model: o.embedModel }) : null,
    models: o.embedModel ? [o.model, o.embedModel] : [o.model],
  };
}

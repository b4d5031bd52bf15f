/**
 * The seam for LLM-adapted candidates (arm source `llm`). An Ollama implementation arrives with the
 * LLM issue; until then no candidate of this source is produced.
 */
export interface Llm {
  /** Adapts a proven configuration to a repository's facts; returns YAML text or null to abstain. */
  adaptPipeline(input: { config: string; facts: Record<string, unknown> }): Promise<string | null>;
}

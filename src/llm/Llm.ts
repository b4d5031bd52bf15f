/**
 * The seam for a local language model (arm source `llm`, `/pipeline ask`, `/pipeline explain`). The
 * domain receives an `Llm`; only the composition root builds the Ollama implementation. Nothing a
 * model returns is trusted: callers validate and policy-check it (src/generation/adaptWithLlm.ts).
 */

export type LlmRole = 'system' | 'user' | 'assistant' | 'tool';

export interface LlmToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface LlmMessage {
  role: LlmRole;
  content: string;
  /** an assistant turn that asked for tools */
  toolCalls?: LlmToolCall[];
  /** a `tool` turn: which tool produced this result */
  toolName?: string;
}

/** A tool the model may call; `parameters` is a JSON schema of an object. */
export interface LlmTool {
  name: string;
  description: string;
  parameters: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
}

export interface LlmChatRequest {
  messages: LlmMessage[];
  tools?: LlmTool[];
  /** structured output: `json`, or a JSON schema the answer must follow */
  format?: 'json' | Record<string, unknown>;
  /** sampling temperature; adaptation uses 0 so that repairs are reproducible */
  temperature?: number;
  /** cancels the call (a request that went away); the configured timeout applies as well */
  signal?: AbortSignal;
  /** overrides the configured timeout for this call */
  timeoutMs?: number;
}

export interface LlmChatResult {
  content: string;
  toolCalls: LlmToolCall[];
  model: string;
  /** time the model server reports for the whole call, when it does */
  modelDurationMs: number | null;
}

/** One piece of a streamed answer: a content delta, tool calls, or the end. */
export type LlmChunk =
  | { type: 'content'; text: string }
  | { type: 'tool_calls'; toolCalls: LlmToolCall[] }
  | { type: 'done'; model: string; modelDurationMs: number | null };

export interface Llm {
  /** the chat model's name, shown in proposals ("adapted by llama3.1:8b") */
  readonly model: string;
  chat(request: LlmChatRequest): Promise<LlmChatResult>;
  /** the same call streamed; the timeout covers the whole stream */
  chatStream(request: LlmChatRequest): AsyncIterable<LlmChunk>;
}

/** Text embeddings from a model server; without one the service uses feature hashing (src/vectors/embed.ts). */
export interface Embedder {
  readonly model: string;
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>;
}

/**
 * Why a model call gave nothing usable. `missing_model` and `unavailable` are configuration
 * problems (the message says what to run); `timeout` and `bad_response` are per-call.
 */
export type LlmFailureKind = 'timeout' | 'aborted' | 'unavailable' | 'missing_model' | 'bad_response';

export class LlmError extends Error {
  constructor(
    readonly kind: LlmFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LlmError';
  }
}

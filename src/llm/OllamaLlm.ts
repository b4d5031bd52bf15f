import { type ChatRequest, type ChatResponse, type Message, Ollama, type Tool } from 'ollama';
import {
  type Embedder,
  type Llm,
  type LlmChatRequest,
  type LlmChatResult,
  type LlmChunk,
  LlmError,
  type LlmMessage,
  type LlmToolCall,
} from './Llm.js';

export interface OllamaOptions {
  /** OLLAMA_HOST, e.g. http://localhost:11434 */
  host: string;
  /** OLLAMA_MODEL (default llama3.1:8b) */
  model: string;
  /** per call, stream included (PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS) */
  timeoutMs: number;
  /** an answer larger than this is garbage, not a pipeline; default 1 MiB */
  maxResponseBytes?: number;
  /** tests and proxies; default the global fetch */
  fetch?: typeof fetch;
}

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The `Llm` on the `ollama` JS client. A client is built per call so that each call carries its own
 * deadline (the client's own `abort()` would cancel every call in flight). The fetch it uses is
 * guarded: a size cap, NDJSON lines that are not JSON become an error line (the client would print
 * them with console.warn, and they are model output), and plain-text error bodies become JSON.
 */
export class OllamaLlm implements Llm {
  readonly model: string;
  constructor(private readonly options: OllamaOptions) {
    this.model = options.model;
  }

  async chat(request: LlmChatRequest): Promise<LlmChatResult> {
    const call = startCall(this.options, request);
    try {
      const res = (await call.client.chat({ ...toOllamaRequest(this.model, request), stream: false })) as unknown;
      if (!isChatResponse(res)) throw new LlmError('bad_response', `Ollama answered ${this.model} without a message`);
      return {
        content: res.message.content ?? '',
        toolCalls: fromToolCalls(res.message.tool_calls),
        model: res.model ?? this.model,
        modelDurationMs: durationMs(res.total_duration),
      };
    } catch (err) {
      throw classify(err, call, this.options);
    } finally {
      call.end();
    }
  }

  async *chatStream(request: LlmChatRequest): AsyncIterable<LlmChunk> {
    const call = startCall(this.options, request);
    try {
      const stream = await call.client.chat({ ...toOllamaRequest(this.model, request), stream: true });
      for await (const part of stream) {
        if (!isChatResponse(part)) throw new LlmError('bad_response', 'Ollama sent a stream line without a message');
        if (part.message.content) yield { type: 'content', text: part.message.content };
        const calls = fromToolCalls(part.message.tool_calls);
        if (calls.length > 0) yield { type: 'tool_calls', toolCalls: calls };
        if (part.done) {
          yield { type: 'done', model: part.model ?? this.model, modelDurationMs: durationMs(part.total_duration) };
          return;
        }
      }
    } catch (err) {
      throw classify(err, call, this.options);
    } finally {
      call.end();
    }
  }
}

/** `/api/embed` with PIPELINE_LEARNER_OLLAMA_EMBED_MODEL; one vector per input, all of one length. */
export class OllamaEmbedder implements Embedder {
  readonly model: string;
  constructor(private readonly options: OllamaOptions) {
    this.model = options.model;
  }

  async embed(texts: string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
    if (texts.length === 0) return [];
    const call = startCall(this.options, { signal: options.signal });
    try {
      const res = (await call.client.embed({ model: this.model, input: texts })) as { embeddings?: unknown };
      const vectors = res.embeddings;
      const ok =
        Array.isArray(vectors) &&
        vectors.length === texts.length &&
        vectors.every(
          (v) =>
            Array.isArray(v) &&
            v.length > 0 &&
            v.length === (vectors[0] as unknown[]).length &&
            v.every((x) => typeof x === 'number' && Number.isFinite(x)),
        );
      if (!ok)
        throw new LlmError('bad_response', `Ollama's /api/embed answer for ${this.model} is not one vector per input`);
      return vectors as number[][];
    } catch (err) {
      throw classify(err, call, this.options);
    } finally {
      call.end();
    }
  }
}

interface Call {
  client: Ollama;
  timedOut: () => boolean;
  aborted: () => boolean;
  end: () => void;
}

function startCall(options: OllamaOptions, request: { signal?: AbortSignal; timeoutMs?: number }): Call {
  const timeoutMs = request.timeoutMs ?? options.timeoutMs;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new LlmError('timeout', 'timeout')), timeoutMs);
  // aborted when the caller stops reading a stream early, so the HTTP request does not linger
  const finished = new AbortController();
  const signal = AbortSignal.any([deadline.signal, finished.signal, ...(request.signal ? [request.signal] : [])]);
  const client = new Ollama({
    host: options.host,
    fetch: guardedFetch(options.fetch ?? fetch, signal, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES),
  });
  return {
    client,
    timedOut: () => deadline.signal.aborted,
    aborted: () => request.signal?.aborted ?? false,
    end: () => {
      clearTimeout(timer);
      finished.abort();
    },
  };
}

function guardedFetch(base: typeof fetch, signal: AbortSignal, maxBytes: number): typeof fetch {
  return async (input, init) => {
    const own = init?.signal;
    const response = await base(input, { ...init, signal: own ? AbortSignal.any([own, signal]) : signal });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok && !type.includes('application/json')) {
      const text = (await response.text()).slice(0, 300);
      return Response.json({ error: text || `HTTP ${response.status}` }, { status: response.status });
    }
    if (!response.body) return response;
    const body = response.body.pipeThrough(capBytes(maxBytes));
    const guarded = type.includes('ndjson') ? body.pipeThrough(jsonLinesOnly()) : body;
    return new Response(guarded, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function capBytes(max: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(new LlmError('bad_response', `Ollama's answer is larger than ${max} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

/** Replaces a stream line that is not JSON by an error line, so the client fails instead of printing it. */
function jsonLinesOnly(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = '';
  const fix = (line: string): string => {
    if (line.trim() === '') return '';
    try {
      JSON.parse(line);
      return `${line}\n`;
    } catch {
      return `${JSON.stringify({ error: 'Ollama sent a stream line that is not JSON' })}\n`;
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      const out = lines.map(fix).join('');
      if (out) controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      buffer += decoder.decode();
      const out = fix(buffer);
      if (out) controller.enqueue(encoder.encode(out));
    },
  });
}

function toOllamaRequest(model: string, r: LlmChatRequest): ChatRequest {
  return {
    model,
    messages: r.messages.map(toOllamaMessage),
    ...(r.tools?.length
      ? {
          tools: r.tools.map(
            (t): Tool => ({
              type: 'function',
              // the client's type narrows JSON schema properties; ours are plain JSON schema
              function: {
                name: t.name,
                description: t.description,
                parameters: t.parameters as Tool['function']['parameters'],
              },
            }),
          ),
        }
      : {}),
    ...(r.format !== undefined ? { format: r.format } : {}),
    ...(r.temperature !== undefined ? { options: { temperature: r.temperature } } : {}),
  };
}

function toOllamaMessage(m: LlmMessage): Message {
  return {
    role: m.role,
    content: m.content,
    ...(m.toolCalls?.length
      ? { tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) }
      : {}),
    ...(m.toolName ? { tool_name: m.toolName } : {}),
  };
}

function fromToolCalls(calls: unknown): LlmToolCall[] {
  if (!Array.isArray(calls)) return [];
  const out: LlmToolCall[] = [];
  for (const c of calls) {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } })?.function;
    if (!fn || typeof fn.name !== 'string')
      throw new LlmError('bad_response', 'Ollama sent a tool call without a name');
    // some models send the arguments as a JSON string rather than an object
    let args = fn.arguments;
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args);
      } catch {
        throw new LlmError('bad_response', `the arguments of tool call ${fn.name} are not JSON`);
      }
    }
    if (args === undefined || args === null) args = {};
    if (typeof args !== 'object' || Array.isArray(args))
      throw new LlmError('bad_response', `the arguments of tool call ${fn.name} are not an object`);
    out.push({ name: fn.name, arguments: args as Record<string, unknown> });
  }
  return out;
}

function isChatResponse(v: unknown): v is ChatResponse {
  const m = (v as { message?: unknown } | null)?.message as { content?: unknown } | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof m === 'object' &&
    m !== null &&
    (m.content === undefined || typeof m.content === 'string')
  );
}

function durationMs(ns: unknown): number | null {
  return typeof ns === 'number' && Number.isFinite(ns) ? ns / 1e6 : null;
}

/** Turns whatever the client threw into an LlmError whose message says what to do; never includes model output. */
function classify(err: unknown, call: Call, options: OllamaOptions): LlmError {
  if (call.timedOut())
    return new LlmError('timeout', `Ollama (${options.model}) did not answer within ${options.timeoutMs} ms`);
  if (call.aborted()) return new LlmError('aborted', 'the call to Ollama was cancelled', { cause: err });
  if (err instanceof LlmError) return err;
  const e = err as { name?: string; status_code?: number; message?: string; cause?: unknown };
  if (e?.name === 'ResponseError') {
    if (e.status_code === 404 && /not found/i.test(e.message ?? ''))
      return new LlmError('missing_model', missingModelMessage(options.host, modelIn(e.message) ?? options.model));
    if ((e.status_code ?? 0) >= 500)
      return new LlmError(
        'unavailable',
        `Ollama at ${options.host} answered HTTP ${e.status_code}: ${short(e.message)}`,
      );
    return new LlmError(
      'bad_response',
      `Ollama at ${options.host} refused the request (HTTP ${e.status_code}): ${short(e.message)}`,
    );
  }
  if (e?.cause instanceof LlmError) return e.cause;
  if ((e?.cause as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET' && !/fetch failed/i.test(e?.message ?? ''))
    return new LlmError(
      'unavailable',
      `the connection to Ollama at ${options.host} closed before the answer was complete`,
      {
        cause: err,
      },
    );
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return unreachable(options.host, err);
  if (err instanceof SyntaxError) return new LlmError('bad_response', `Ollama's answer is not JSON`, { cause: err });
  return new LlmError('bad_response', `Ollama's answer could not be read: ${short(e?.message)}`, { cause: err });
}

function modelIn(message: string | undefined): string | null {
  return /model ["']([^"']+)["'] not found/i.exec(message ?? '')?.[1] ?? null;
}

function short(s: string | undefined): string {
  const t = (s ?? '').replace(/\s+/g, ' ').trim();
  return t.length > 160 ? `${t.slice(0, 160)}…` : t;
}

export function missingModelMessage(host: string, model: string): string {
  return `model ${model} is not pulled on the Ollama server at ${host}: run \`ollama pull ${model}\` there (or set OLLAMA_MODEL to a pulled model)`;
}

export function unreachable(host: string, err: unknown): LlmError {
  const cause = (err as { cause?: { code?: string } })?.cause?.code;
  return new LlmError(
    'unavailable',
    `Ollama at ${host} is not reachable${cause ? ` (${cause})` : ''}: start it with \`ollama serve\`, or unset OLLAMA_HOST to run without the LLM`,
    { cause: err },
  );
}

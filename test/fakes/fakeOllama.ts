/**
 * A fake Ollama server for tests: a real HTTP server on 127.0.0.1 speaking Ollama's REST API as the
 * `ollama` JS client and curl see it, scripted per test.
 *
 *   const ol = await startFakeOllama({ models: ['llama3.1:8b'] });
 *   ol.replyChat({ content: 'hello' }, { toolCalls: [{ name: 'status', arguments: { mr: 3 } }] }); // a queue
 *   ol.onChat((req) => ({ content: JSON.stringify({ config: '...' }) }));  // when the queue is empty
 *   ol.replyChat({ delayMs: 500, content: 'late' }, { broken: 'not-json' }, { hang: true });
 *   ol.requests                                        // every request: method, path, parsed body
 *   await ol.close();
 *
 * What matches Ollama:
 * - `POST /api/chat`: `stream` defaults to true → `application/x-ndjson`, one JSON object a line:
 *   content deltas `{"model","created_at","message":{"role":"assistant","content":"…"},"done":false}`,
 *   tool calls in a line of their own (`message.tool_calls: [{"function":{"name","arguments":{…}}}]`,
 *   arguments an object), then `{"done":true,"done_reason":"stop","total_duration",…}` with empty
 *   content. `stream:false` → one JSON object with the whole message and the same statistics.
 * - `POST /api/embed`: `input` a string or a list → `{"model","embeddings":[[…]],…}`.
 * - `GET /api/tags` → `{"models":[{"name","model","modified_at","size","digest","details"}]}`.
 * - A model that is not pulled: 404 `{"error":"model \"x\" not found, try pulling it first"}` on chat
 *   and embed. A request without `model`: 400 `{"error":"model is required"}`.
 * Faults: `delayMs` before the answer (or between stream lines with `lineDelayMs`), `hang` (never
 * answers until close), `status`+`error` (an error answer), `broken`: `not-json` (an HTML page / a
 * garbage stream line), `no-done` (the stream ends without `done`), `cut` (the stream stops midway,
 * connection closed).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeToolCall {
  name: string;
  /** an object, as Ollama sends; a string to imitate models that send JSON text */
  arguments: Record<string, unknown> | string;
}

export type FakeChatReply =
  | {
      content?: string;
      toolCalls?: FakeToolCall[];
      /** how the content is split into stream lines (default: words) */
      chunks?: string[];
      delayMs?: number;
      lineDelayMs?: number;
    }
  | { status: number; error: string; delayMs?: number }
  | { broken: 'not-json' | 'no-done' | 'cut'; delayMs?: number }
  | { hang: true };

export interface FakeChatRequest {
  model: string;
  messages: Array<{ role: string; content: string; tool_calls?: unknown[]; tool_name?: string }>;
  stream: boolean;
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  format?: unknown;
  options?: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface FakeOllama {
  url: string;
  /** pulled models, as `/api/tags` lists them; edit to simulate a pull */
  models: string[];
  requests: RecordedRequest[];
  chatRequests(): FakeChatRequest[];
  replyChat(...replies: FakeChatReply[]): void;
  onChat(fn: (req: FakeChatRequest) => FakeChatReply | Promise<FakeChatReply>): void;
  /** embeddings for one text (default: 8 deterministic numbers from the text) */
  onEmbed(fn: (text: string) => number[]): void;
  failTags(status: number): void;
  close(): Promise<void>;
}

const CREATED_AT = '2026-12-04T12:00:00.000000Z';
const STATS = {
  total_duration: 1_234_000_000,
  load_duration: 12_000_000,
  prompt_eval_count: 42,
  prompt_eval_duration: 100_000_000,
  eval_count: 17,
  eval_duration: 900_000_000,
};

function defaultEmbedding(text: string): number[] {
  const v = new Array<number>(8).fill(0);
  for (let i = 0; i < text.length; i++) v[i % 8] += text.charCodeAt(i) / 1000;
  return v;
}

function pulled(models: string[], name: string): boolean {
  const want = name.includes(':') ? name : `${name}:latest`;
  return models.includes(name) || models.includes(want);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeOllama(options: { models?: string[] } = {}): Promise<FakeOllama> {
  const queue: FakeChatReply[] = [];
  let chatFn: ((req: FakeChatRequest) => FakeChatReply | Promise<FakeChatReply>) | null = null;
  let embedFn = defaultEmbedding;
  let tagsStatus: number | null = null;
  const hanging = new Set<ServerResponse>();
  const requests: RecordedRequest[] = [];
  const models = [...(options.models ?? ['llama3.1:8b'])];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: ServerResponse, model: string) =>
    json(res, 404, { error: `model "${model}" not found, try pulling it first` });

  async function chat(res: ServerResponse, req: FakeChatRequest) {
    if (!req.model) return json(res, 400, { error: 'model is required' });
    if (!pulled(fake.models, req.model)) return notFound(res, req.model);
    const reply = queue.shift() ?? (chatFn ? await chatFn(req) : { content: '' });
    if ('hang' in reply) {
      hanging.add(res);
      return;
    }
    if (reply.delayMs) await sleep(reply.delayMs);
    if ('status' in reply) return json(res, reply.status, { error: reply.error });
    const line = (message: Record<string, unknown>, done: boolean, extra: Record<string, unknown> = {}) => ({
      model: req.model,
      created_at: CREATED_AT,
      message: { role: 'assistant', content: '', ...message },
      done,
      ...extra,
    });
    const final = () => line({}, true, { done_reason: 'stop', ...STATS });
    if ('broken' in reply) {
      if (!req.stream) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(reply.broken === 'not-json' ? '<html>502 Bad Gateway</html>' : '{"model": "x", "message": {"ro');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify(line({ content: 'stages:' }, false))}\n`);
      if (reply.broken === 'not-json') {
        res.write('this is not json\n');
        res.end(`${JSON.stringify(final())}\n`);
      } else if (reply.broken === 'no-done') {
        res.end();
      } else {
        res.write('{"model": "llama3.1:8b", "message": {"conte');
        // let the client receive the partial answer before the connection goes away
        await sleep(20);
        res.destroy();
      }
      return;
    }
    const content = reply.content ?? '';
    const toolCalls = (reply.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
    if (!req.stream) {
      return json(res, 200, {
        ...line({ content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, true),
        done_reason: 'stop',
        ...STATS,
      });
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const chunks = reply.chunks ?? content.match(/\S+\s*|\s+/g) ?? [];
    for (const c of chunks) {
      res.write(`${JSON.stringify(line({ content: c }, false))}\n`);
      if (reply.lineDelayMs) await sleep(reply.lineDelayMs);
    }
    if (toolCalls.length) res.write(`${JSON.stringify(line({ tool_calls: toolCalls }, false))}\n`);
    res.end(`${JSON.stringify(final())}\n`);
  }

  function embed(res: ServerResponse, body: { model?: string; input?: unknown }) {
    if (!body.model) return json(res, 400, { error: 'model is required' });
    if (!pulled(fake.models, body.model)) return notFound(res, body.model);
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    if (!inputs.every((i) => typeof i === 'string')) return json(res, 400, { error: 'invalid input type' });
    json(res, 200, {
      model: body.model,
      embeddings: (inputs as string[]).map((t) => embedFn(t)),
      total_duration: 14_000_000,
      load_duration: 1_000_000,
      prompt_eval_count: inputs.length,
    });
  }

  function tags(res: ServerResponse) {
    if (tagsStatus !== null) return json(res, tagsStatus, { error: 'fake failure' });
    json(res, 200, {
      models: fake.models.map((name, i) => ({
        name,
        model: name,
        modified_at: CREATED_AT,
        size: 4_920_753_328,
        digest: `${String(i).padStart(2, '0')}${'a'.repeat(62)}`,
        details: {
          parent_model: '',
          format: 'gguf',
          family: 'llama',
          families: ['llama'],
          parameter_size: '8.0B',
          quantization_level: 'Q4_K_M',
        },
      })),
    });
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const text = Buffer.concat(parts).toString('utf8');
    if (!text) return {};
    return JSON.parse(text);
  }

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: unknown;
    try {
      body = await readBody(req);
    } catch {
      return json(res, 400, { error: 'invalid character in request body' });
    }
    requests.push({ method: req.method ?? 'GET', path, body });
    try {
      if (req.method === 'POST' && path === '/api/chat') {
        const b = body as Partial<FakeChatRequest>;
        return await chat(res, { ...(b as FakeChatRequest), stream: b.stream ?? true, messages: b.messages ?? [] });
      }
      if (req.method === 'POST' && path === '/api/embed') return embed(res, body as { model?: string });
      if (req.method === 'GET' && path === '/api/tags') return tags(res);
      if (req.method === 'GET' && path === '/api/version') return json(res, 200, { version: '0.13.0' });
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found');
    } catch (err) {
      json(res, 500, { error: String(err) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeOllama = {
    url: `http://127.0.0.1:${port}`,
    models,
    requests,
    chatRequests: () => requests.filter((r) => r.path === '/api/chat').map((r) => r.body as FakeChatRequest),
    replyChat: (...replies) => queue.push(...replies),
    onChat: (fn) => {
      chatFn = fn;
    },
    onEmbed: (fn) => {
      embedFn = fn;
    },
    failTags: (status) => {
      tagsStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return fake;
}

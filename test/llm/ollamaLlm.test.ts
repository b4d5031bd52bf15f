import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkOllama, isPulled } from '../../src/llm/checkOllama.js';
import { type LlmChunk, LlmError } from '../../src/llm/Llm.js';
import { OllamaEmbedder, OllamaLlm } from '../../src/llm/OllamaLlm.js';
import { type FakeOllama, startFakeOllama } from '../fakes/fakeOllama.js';

let ol: FakeOllama;
beforeEach(async () => {
  ol = await startFakeOllama({ models: ['llama3.1:8b', 'nomic-embed-text:latest'] });
});
afterEach(async () => {
  await ol.close();
});

const llm = (over: Partial<ConstructorParameters<typeof OllamaLlm>[0]> = {}) =>
  new OllamaLlm({ host: ol.url, model: 'llama3.1:8b', timeoutMs: 5000, ...over });

async function failure(p: Promise<unknown> | (() => Promise<unknown>)): Promise<LlmError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error('expected a failure');
}

async function collect(it: AsyncIterable<LlmChunk>): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('OllamaLlm.chat', () => {
  it('sends the messages, tools, format and temperature as Ollama expects and reads the answer', async () => {
    ol.replyChat({ content: 'stages: [test]' });
    const schema = { type: 'object', properties: { config: { type: 'string' } }, required: ['config'] };
    const r = await llm().chat({
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi' },
      ],
      tools: [{ name: 'status', description: 'pipeline status', parameters: { type: 'object', properties: {} } }],
      format: schema,
      temperature: 0,
    });
    expect(r.content).toBe('stages: [test]');
    expect(r.toolCalls).toEqual([]);
    expect(r.model).toBe('llama3.1:8b');
    expect(r.modelDurationMs).toBeCloseTo(1234);
    const [sent] = ol.chatRequests();
    expect(sent.stream).toBe(false);
    expect(sent.format).toEqual(schema);
    expect(sent.options).toEqual({ temperature: 0 });
    expect(sent.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(sent.tools?.[0]).toEqual({
      type: 'function',
      function: { name: 'status', description: 'pipeline status', parameters: { type: 'object', properties: {} } },
    });
  });

  it('returns tool calls, also when a model sends the arguments as JSON text', async () => {
    ol.replyChat({
      toolCalls: [
        { name: 'check_pipeline_status', arguments: { mr: 3 } },
        { name: 'explain_failure', arguments: '{"job": "test"}' },
      ],
    });
    const r = await llm().chat({ messages: [{ role: 'user', content: 'status?' }] });
    expect(r.toolCalls).toEqual([
      { name: 'check_pipeline_status', arguments: { mr: 3 } },
      { name: 'explain_failure', arguments: { job: 'test' } },
    ]);
  });

  it('passes tool results back as tool messages', async () => {
    ol.replyChat({ content: 'green' });
    await llm().chat({
      messages: [
        { role: 'user', content: 'status?' },
        { role: 'assistant', content: '', toolCalls: [{ name: 'status', arguments: {} }] },
        { role: 'tool', content: '{"status":"success"}', toolName: 'status' },
      ],
    });
    const sent = ol.chatRequests()[0].messages;
    expect(sent[1].tool_calls).toEqual([{ function: { name: 'status', arguments: {} } }]);
    expect(sent[2]).toEqual({ role: 'tool', content: '{"status":"success"}', tool_name: 'status' });
  });

  it('a model that is not pulled is a missing_model failure that says what to run', async () => {
    const e = await failure(llm({ model: 'qwen2.5:7b' }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(e.kind).toBe('missing_model');
    expect(e.message).toContain('ollama pull qwen2.5:7b');
  });

  it('a slow answer is a timeout, and the caller can cancel', async () => {
    ol.replyChat({ delayMs: 400, content: 'late' });
    const e = await failure(llm({ timeoutMs: 100 }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(e.kind).toBe('timeout');
    expect(e.message).toContain('100 ms');

    ol.replyChat({ hang: true });
    const ac = new AbortController();
    const p = llm().chat({ messages: [{ role: 'user', content: 'x' }], signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect((await failure(p)).kind).toBe('aborted');
  });

  it('a per-call timeout overrides the configured one', async () => {
    ol.replyChat({ delayMs: 400, content: 'late' });
    const e = await failure(
      llm({ timeoutMs: 60_000 }).chat({ messages: [{ role: 'user', content: 'x' }], timeoutMs: 100 }),
    );
    expect(e.kind).toBe('timeout');
  });

  it('garbage and server errors are bad_response or unavailable, without the body in the message', async () => {
    ol.replyChat({ broken: 'not-json' });
    const garbage = await failure(llm().chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(garbage.kind).toBe('bad_response');
    expect(garbage.message).not.toContain('502 Bad Gateway');

    ol.replyChat({ status: 500, error: 'llama runner process has terminated' });
    const crashed = await failure(llm().chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(crashed.kind).toBe('unavailable');
    expect(crashed.message).toContain('HTTP 500');
  });

  it('an answer above the size cap is refused', async () => {
    ol.replyChat({ content: 'x'.repeat(5000) });
    const e = await failure(llm({ maxResponseBytes: 1000 }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(e.kind).toBe('bad_response');
    expect(e.message).toContain('larger than 1000 bytes');
  });

  it('an unreachable server says how to start it or turn the LLM off', async () => {
    const url = ol.url;
    await ol.close();
    const e = await failure(llm({ host: url }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(e.kind).toBe('unavailable');
    expect(e.message).toMatch(/ollama serve.*unset OLLAMA_HOST/);
    ol = await startFakeOllama();
  });
});

describe('OllamaLlm.chatStream', () => {
  it('yields content deltas, tool calls and the end', async () => {
    ol.replyChat({ chunks: ['stages:', '\n  - test'], toolCalls: [{ name: 'show_proposal', arguments: { n: 2 } }] });
    const chunks = await collect(llm().chatStream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(chunks).toEqual([
      { type: 'content', text: 'stages:' },
      { type: 'content', text: '\n  - test' },
      { type: 'tool_calls', toolCalls: [{ name: 'show_proposal', arguments: { n: 2 } }] },
      { type: 'done', model: 'llama3.1:8b', modelDurationMs: 1234 },
    ]);
    expect(ol.chatRequests()[0].stream).toBe(true);
  });

  it('a garbage line and a stream without its end fail as bad_response; a cut connection as unavailable', async () => {
    for (const broken of ['not-json', 'no-done'] as const) {
      ol.replyChat({ broken });
      const e = await failure(() => collect(llm().chatStream({ messages: [{ role: 'user', content: 'x' }] })));
      expect(e.kind, broken).toBe('bad_response');
      expect(e.message, broken).not.toContain('this is not json');
    }
    ol.replyChat({ broken: 'cut' });
    const cut = await failure(() => collect(llm().chatStream({ messages: [{ role: 'user', content: 'x' }] })));
    expect(cut.kind).toBe('unavailable');
    expect(cut.message).toContain('closed before the answer was complete');
  });

  it('the timeout covers the whole stream', async () => {
    ol.replyChat({ chunks: ['a', 'b', 'c', 'd', 'e'], lineDelayMs: 100 });
    const e = await failure(() =>
      collect(llm({ timeoutMs: 150 }).chatStream({ messages: [{ role: 'user', content: 'x' }] })),
    );
    expect(e.kind).toBe('timeout');
  });

  it('a missing model fails before any chunk', async () => {
    const e = await failure(() =>
      collect(llm({ model: 'mistral' }).chatStream({ messages: [{ role: 'user', content: 'x' }] })),
    );
    expect(e.kind).toBe('missing_model');
    expect(e.message).toContain('ollama pull mistral');
  });
});

describe('OllamaEmbedder', () => {
  it('embeds a batch with the embedding model, one vector per text', async () => {
    ol.onEmbed((t) => [t.length, 1, 0]);
    const e = new OllamaEmbedder({ host: ol.url, model: 'nomic-embed-text', timeoutMs: 5000 });
    expect(await e.embed(['go gin', 'node'])).toEqual([
      [6, 1, 0],
      [4, 1, 0],
    ]);
    expect(ol.requests.at(-1)).toMatchObject({
      path: '/api/embed',
      body: { model: 'nomic-embed-text', input: ['go gin', 'node'] },
    });
    expect(await e.embed([])).toEqual([]);
  });

  it('vectors of mixed length or a missing model fail', async () => {
    let n = 0;
    ol.onEmbed(() => new Array(++n).fill(0.5));
    const e = new OllamaEmbedder({ host: ol.url, model: 'nomic-embed-text', timeoutMs: 5000 });
    expect((await failure(e.embed(['a', 'b']))).kind).toBe('bad_response');
    const missing = new OllamaEmbedder({ host: ol.url, model: 'mxbai-embed-large', timeoutMs: 5000 });
    const m = await failure(missing.embed(['a']));
    expect(m.kind).toBe('missing_model');
    expect(m.message).toContain('ollama pull mxbai-embed-large');
  });
});

describe('checkOllama (startup)', () => {
  it('passes when every model is pulled; `name` means `name:latest`', async () => {
    const r = await checkOllama({ host: ol.url, models: ['llama3.1:8b', 'nomic-embed-text'] });
    expect(r.ok).toBe(true);
    expect(isPulled('llama3.1', ['llama3.1:8b'])).toBe(false);
    expect(isPulled('llama3.1', ['llama3.1:latest'])).toBe(true);
  });

  it('names the exact ollama pull for each missing model', async () => {
    ol.models.splice(0, ol.models.length, 'nomic-embed-text:latest');
    const r = await checkOllama({ host: ol.url, models: ['llama3.1:8b', 'nomic-embed-text'] });
    expect(r).toEqual({
      ok: false,
      kind: 'missing_model',
      message: expect.stringContaining('run `ollama pull llama3.1:8b`'),
    });
    ol.models.push('llama3.1:8b');
    expect((await checkOllama({ host: ol.url, models: ['llama3.1:8b'] })).ok).toBe(true);
  });

  it('reports an unreachable or failing server', async () => {
    ol.failTags(500);
    const failing = await checkOllama({ host: ol.url, models: ['llama3.1:8b'] });
    expect(failing).toMatchObject({ ok: false, kind: 'unavailable' });
    if (!failing.ok) expect(failing.message).toContain('HTTP 500');
    const url = ol.url;
    await ol.close();
    const down = await checkOllama({ host: url, models: ['llama3.1:8b'] });
    expect(down).toMatchObject({ ok: false, kind: 'unavailable' });
    if (!down.ok) expect(down.message).toContain('ollama serve');
    ol = await startFakeOllama();
  });
});

describe('configuration', () => {
  const base = { DATA_DIR: '/tmp/unused' };
  it('OLLAMA_HOST alone enables the LLM with llama3.1:8b and feature hashing', () => {
    const c = loadConfig({ ...base, OLLAMA_HOST: 'localhost:11434' });
    expect(c.ollama).toEqual({
      host: 'http://localhost:11434',
      model: 'llama3.1:8b',
      embedModel: null,
      timeoutMs: 120_000,
    });
    expect(c.llm).toEqual({ repairRounds: 2, allowedRegistries: [] });
    expect(loadConfig(base).ollama).toBeNull();
  });

  it('reads the model, embedding model, timeout, repair rounds and registries', () => {
    const c = loadConfig({
      ...base,
      OLLAMA_HOST: 'http://gpu:11434/',
      OLLAMA_MODEL: 'qwen2.5-coder:7b',
      PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: 'nomic-embed-text',
      PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS: '30000',
      PIPELINE_LEARNER_LLM_REPAIR_ROUNDS: '0',
      PIPELINE_LEARNER_ALLOWED_REGISTRIES: 'registry.acme.io, quay.io',
    });
    expect(c.ollama).toEqual({
      host: 'http://gpu:11434',
      model: 'qwen2.5-coder:7b',
      embedModel: 'nomic-embed-text',
      timeoutMs: 30_000,
    });
    expect(c.llm).toEqual({ repairRounds: 0, allowedRegistries: ['registry.acme.io', 'quay.io'] });
  });

  it('rejects a model without a host, bad names and bad numbers, naming each variable', () => {
    expect(() => loadConfig({ ...base, OLLAMA_MODEL: 'llama3.1:8b' })).toThrow(
      /OLLAMA_MODEL: has no effect without OLLAMA_HOST/,
    );
    expect(() => loadConfig({ ...base, PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: 'nomic-embed-text' })).toThrow(
      /PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: has no effect/,
    );
    expect(() => loadConfig({ ...base, OLLAMA_HOST: 'http://x', OLLAMA_MODEL: 'llama 3' })).toThrow(
      /OLLAMA_MODEL: must be an Ollama model name/,
    );
    expect(() => loadConfig({ ...base, OLLAMA_HOST: 'http://x', PIPELINE_LEARNER_LLM_REPAIR_ROUNDS: '-1' })).toThrow(
      /PIPELINE_LEARNER_LLM_REPAIR_ROUNDS/,
    );
    expect(() => loadConfig({ ...base, OLLAMA_HOST: 'http://x', PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS: 'soon' })).toThrow(
      /PIPELINE_LEARNER_OLLAMA_TIMEOUT_MS/,
    );
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLlm } from '../../src/llm/createLlm.js';
import type { Llm } from '../../src/llm/Llm.js';
import { runToolLoop, type ToolHandler, type ToolLoopEvent } from '../../src/llm/runToolLoop.js';
import { type FakeOllama, startFakeOllama } from '../fakes/fakeOllama.js';

let ol: FakeOllama;
let llm: Llm;
beforeAll(async () => {
  ol = await startFakeOllama();
  const built = createLlm(loadConfig({ DATA_DIR: '/tmp/unused', OLLAMA_HOST: ol.url }));
  llm = built.llm!;
});
afterAll(async () => {
  await ol.close();
});
beforeEach(() => {
  ol.requests.length = 0;
});

const calls: Array<[string, Record<string, unknown>]> = [];
const handlers: ToolHandler[] = [
  {
    tool: {
      name: 'check_pipeline_status',
      description: 'status of the merge request pipeline',
      parameters: { type: 'object', properties: { mr: { type: 'integer' } }, required: ['mr'] },
    },
    run: async (args) => {
      calls.push(['check_pipeline_status', args]);
      return { status: 'failed', failed_job: 'test' };
    },
  },
  {
    tool: {
      name: 'commit_pipeline',
      description: 'propose a configuration (needs /pipeline approve)',
      parameters: { type: 'object', properties: {} },
    },
    run: async () => {
      throw new Error('only a proposal can be created here; approve it with /pipeline approve');
    },
  },
];

async function drain(gen: AsyncGenerator<ToolLoopEvent, unknown>) {
  const events: ToolLoopEvent[] = [];
  for (;;) {
    const n = await gen.next();
    if (n.done) return { events, messages: n.value };
    events.push(n.value);
  }
}

describe('runToolLoop against the fake Ollama', () => {
  it('runs the tools the model asks for, sends results back as tool messages, and streams the answer', async () => {
    ol.replyChat(
      { toolCalls: [{ name: 'check_pipeline_status', arguments: { mr: 7 } }] },
      { content: 'The test job failed.' },
    );
    const { events, messages } = await drain(
      runToolLoop(llm, { messages: [{ role: 'user', content: 'why is my MR red?' }], handlers }),
    );
    expect(calls).toEqual([['check_pipeline_status', { mr: 7 }]]);
    expect(events.map((e) => e.type)).toEqual([
      'tool_call',
      'tool_result',
      'content',
      'content',
      'content',
      'content',
      'done',
    ]);
    expect(events.at(-1)).toEqual({ type: 'done', content: 'The test job failed.', steps: 1, stoppedEarly: false });
    expect(messages).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ name: 'check_pipeline_status', arguments: { mr: 7 } }] },
      { role: 'tool', content: '{"status":"failed","failed_job":"test"}', toolName: 'check_pipeline_status' },
      { role: 'assistant', content: 'The test job failed.' },
    ]);
    const [first, second] = ol.chatRequests();
    expect(first!.stream).toBe(true);
    expect(first!.tools?.map((t) => t.function.name)).toEqual(['check_pipeline_status', 'commit_pipeline']);
    expect(second!.messages.at(-1)).toEqual({
      role: 'tool',
      content: '{"status":"failed","failed_job":"test"}',
      tool_name: 'check_pipeline_status',
    });
  });

  it('unknown tools, missing arguments and failing tools answer the model with an error', async () => {
    ol.replyChat(
      {
        toolCalls: [
          { name: 'rm_rf', arguments: {} },
          { name: 'check_pipeline_status', arguments: {} },
          { name: 'commit_pipeline', arguments: {} },
        ],
      },
      { content: 'I cannot commit directly; use /pipeline approve.' },
    );
    const { events } = await drain(runToolLoop(llm, { messages: [{ role: 'user', content: 'commit it' }], handlers }));
    const results = events.filter((e) => e.type === 'tool_result');
    expect(results.map((r) => r.type === 'tool_result' && [r.name, r.error])).toEqual([
      ['rm_rf', true],
      ['check_pipeline_status', true],
      ['commit_pipeline', true],
    ]);
    const toolMessages = ol
      .chatRequests()[1]!
      .messages.filter((m) => m.role === 'tool')
      .map((m) => m.content);
    expect(toolMessages[0]).toContain('there is no tool named rm_rf');
    expect(toolMessages[1]).toContain('missing arguments: mr');
    expect(toolMessages[2]).toContain('/pipeline approve');
  });

  it('stops after maxSteps rounds of tool calls, the last request offering no tools', async () => {
    ol.onChat(() => ({ toolCalls: [{ name: 'check_pipeline_status', arguments: { mr: 1 } }] }));
    const { events } = await drain(
      runToolLoop(llm, { messages: [{ role: 'user', content: 'loop' }], handlers, maxSteps: 2 }),
    );
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: 2, stoppedEarly: true });
    const reqs = ol.chatRequests();
    expect(reqs).toHaveLength(3);
    expect(reqs[2]!.tools).toBeUndefined();
    ol.onChat(() => ({ content: '' }));
  });

  it('createLlm builds nothing without OLLAMA_HOST, and lists the models to check', () => {
    expect(createLlm(loadConfig({ DATA_DIR: '/tmp/unused' }))).toEqual({ llm: null, embedder: null, models: [] });
    const c = createLlm(
      loadConfig({
        DATA_DIR: '/tmp/unused',
        OLLAMA_HOST: ol.url,
        PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: 'nomic-embed-text',
      }),
    );
    expect(c.models).toEqual(['llama3.1:8b', 'nomic-embed-text']);
    expect(c.embedder?.model).toBe('nomic-embed-text');
  });
});

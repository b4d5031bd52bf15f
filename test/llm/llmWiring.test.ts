import { cpSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { main } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, openPGlite } from '../../src/db/openDatabase.js';
import { rankForAdaptation } from '../../src/generation/llmCandidate.js';
import type { ArmCandidate } from '../../src/learning/Chooser.js';
import { buildLlmWiring, checkLlmAtStartup } from '../../src/llmWiring.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { type FakeOllama, startFakeOllama } from '../fakes/fakeOllama.js';
import { FIXTURES } from '../generation/support.js';

let ol: FakeOllama;
beforeAll(async () => {
  ol = await startFakeOllama({ models: ['llama3.1:8b'] });
});
afterAll(async () => {
  await ol.close();
});

const config = (env: Record<string, string> = {}) => loadConfig({ DATA_DIR: '/tmp/unused', ...env });

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('startup check', () => {
  it('without OLLAMA_HOST: off, and says what still works', async () => {
    const r = await checkLlmAtStartup(config());
    expect(r).toMatchObject({ enabled: false, ok: true });
    expect(r.message).toContain('OLLAMA_HOST unset');
    expect(ol.requests).toHaveLength(0);
  });

  it('with the models pulled: ready, naming the model and the host', async () => {
    const r = await checkLlmAtStartup(config({ OLLAMA_HOST: ol.url }));
    expect(r).toMatchObject({ enabled: true, ok: true });
    expect(r.message).toBe(`local LLM ready: llama3.1:8b on ${ol.url}`);
    expect(ol.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/tags' });
  });

  it('a model that is not pulled: says exactly what to run, for the chat and the embedding model', async () => {
    const r = await checkLlmAtStartup(
      config({
        OLLAMA_HOST: ol.url,
        OLLAMA_MODEL: 'qwen2.5:7b',
        PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: 'nomic-embed-text',
      }),
    );
    expect(r).toMatchObject({ enabled: true, ok: false });
    expect(r.message).toContain('`ollama pull qwen2.5:7b`');
    expect(r.message).toContain('`ollama pull nomic-embed-text`');
    expect(r.message).toContain('The service runs');
  });

  it('Ollama not running: says to start it or unset OLLAMA_HOST', async () => {
    const r = await checkLlmAtStartup(config({ OLLAMA_HOST: `http://127.0.0.1:${await closedPort()}` }));
    expect(r).toMatchObject({ enabled: true, ok: false });
    expect(r.message).toMatch(/ollama serve|unset OLLAMA_HOST/);
  });
});

describe('the LLM arm', () => {
  it('is null without OLLAMA_HOST; with it, asked when forced or when nothing passed the quality gate', async () => {
    expect(buildLlmWiring(config(), null)).toEqual({ llm: null, embedder: null, models: [], armSource: null });
    let standings = [{ hash: 'a'.repeat(64), mean: 0.9, runs: 5, gated: false, banned: false, broken: false }];
    const w = buildLlmWiring(config({ OLLAMA_HOST: ol.url }), { arms: async () => standings });
    expect(w.llm?.model).toBe('llama3.1:8b');
    const ctx = { tenant: 't', language: 'node', framework: 'express' };
    expect(await w.armSource!.shouldAsk(ctx, false)).toBe('no_proven');
    standings = [{ ...standings[0]!, gated: true }];
    expect(await w.armSource!.shouldAsk(ctx, false)).toBeNull();
    expect(await w.armSource!.shouldAsk(ctx, true)).toBe('forced');
    // a proven configuration that is banned or broken does not count
    standings = [{ ...standings[0]!, banned: true }];
    expect(await w.armSource!.shouldAsk(ctx, false)).toBe('no_proven');
  });

  it('adapts the proven-and-similar configuration before the merely similar, and never a broken one', async () => {
    const arm = (n: string, config: string): ArmCandidate => ({
      hash: n.repeat(64),
      source: 'template',
      config,
      label: `template ${n}`,
    });
    const node = 'test:\n  image: node:20\n  script:\n    - npm ci\n    - npm test\n';
    const candidates = [arm('a', node), arm('b', `${node}  cache:\n    paths: [node_modules]\n`), arm('c', node)];
    const analysis = {
      language: 'node',
      framework: 'express',
      buildTool: 'npm',
      packageManager: 'npm',
      testCommand: 'npm test',
    } as never;
    const ranked = await rankForAdaptation({ analysis, candidates }, [
      { hash: 'a'.repeat(64), mean: 0.2, runs: 8, gated: false, banned: false, broken: false },
      { hash: 'b'.repeat(64), mean: 0.9, runs: 8, gated: true, banned: false, broken: false },
      { hash: 'c'.repeat(64), mean: 0.95, runs: 8, gated: true, banned: false, broken: true },
    ]);
    expect(ranked.map((r) => r.label)).toEqual(['template b', 'template a']);
  });
});

describe('retrieval with the embedding model', () => {
  it("keeps the model's vectors in its own `_<model>` collections and embeds a configuration once", async () => {
    const store = await openPGlite('memory://');
    try {
      await migrateToLatest(store.db);
      const vectors = new EmbeddedVectorIndex(store.db);
      ol.models.push('nomic-embed-text:latest');
      const w = buildLlmWiring(
        config({ OLLAMA_HOST: ol.url, PIPELINE_LEARNER_OLLAMA_EMBED_MODEL: 'nomic-embed-text' }),
        { arms: async () => [] },
        { vectors },
      );
      ol.onChat(() => ({ content: 'no configuration here' }));
      const config1 = 'test:\n  image: node:20\n  script:\n    - npm test\n';
      const request = {
        analysis: {
          language: 'node',
          framework: 'express',
          automation: { targets: {}, ciCommands: [], serviceSetup: [], services: [] },
        } as never,
        context: { tenant: 't', language: 'node', framework: 'express' },
        candidates: [{ hash: 'd'.repeat(64), source: 'default' as const, config: config1, label: 'built-in default' }],
        learnStage: { component: null, serviceUrl: null },
      };
      ol.requests.length = 0;
      await w.armSource!.propose(request);
      const embeds = () =>
        ol.requests.filter((r) => r.path === '/api/embed').map((r) => (r.body as { input: string[] }).input);
      expect(embeds()).toHaveLength(1);
      expect(embeds()[0]).toHaveLength(2);
      const stored = await vectors.get('pipeline_templates_nomic-embed-text', ['d'.repeat(64)]);
      expect(stored).toHaveLength(1);
      expect(stored[0]!.embedding).toHaveLength(8);
      expect(stored[0]!.metadata).toMatchObject({ embed_model: 'nomic-embed-text', source: 'default' });
      expect(await vectors.get('pipeline_templates', ['d'.repeat(64)])).toHaveLength(0);
      // the second time only the repository is embedded
      await w.armSource!.propose(request);
      expect(embeds()).toHaveLength(2);
      expect(embeds()[1]).toHaveLength(1);
    } finally {
      ol.models.splice(ol.models.indexOf('nomic-embed-text:latest'), 1);
      await store.close();
    }
  });
});

describe('generate --llm on the CLI', () => {
  const run = async (argv: string[], env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-llm-cli-'));
    cpSync(join(FIXTURES, 'node-express'), dir, { recursive: true });
    const out = { stdout: '', stderr: '' };
    const code = await main(['generate', '.', ...argv], {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { DATA_DIR: mkdtempSync(join(tmpdir(), 'pl-llm-cli-data-')), ...env },
      cwd: dir,
      readStdin: async () => '',
    }).catch((err: { exitCode?: number; message: string }) => {
      out.stderr += err.message;
      return err.exitCode ?? 1;
    });
    return { code, ...out };
  };

  it('asks the model only with --llm, shows what it did, and needs OLLAMA_HOST', async () => {
    ol.requests.length = 0;
    ol.onChat((req) => {
      const text = req.messages.map((m) => m.content).join('\n');
      const base = /BEGIN DATA (\w+) base_configuration\n([\s\S]*?)\nEND DATA \1 base_configuration/.exec(text)![2]!;
      const doc = parseYaml(base) as Record<string, unknown>;
      doc.variables = { LLM_ADAPTED: 'true' };
      return { content: JSON.stringify({ config: stringifyYaml(doc) }) };
    });
    const plain = await run([], { OLLAMA_HOST: ol.url });
    expect(plain.code).toBe(0);
    expect(ol.chatRequests()).toHaveLength(0);
    const asked = await run(['--llm'], { OLLAMA_HOST: ol.url });
    expect(asked.code).toBe(0);
    expect(ol.chatRequests()).toHaveLength(1);
    expect(asked.stderr).toMatch(/# llm: +(LLM-adapted candidate|The learner chose)/);
    expect(asked.stdout + asked.stderr).toContain('LLM_ADAPTED');
    const off = await run(['--llm'], {});
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('OLLAMA_HOST');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/errors.js';
import { ChromaVectorIndex, toChromaWhere } from '../../src/vectors/ChromaVectorIndex.js';
import { requireChroma } from '../support/chroma.js';
import { vectorIndexContract } from './vectorIndexContract.js';

const url = await requireChroma();

describe.skipIf(!url)('ChromaVectorIndex against a real Chroma server', () => {
  vectorIndexContract('chroma', async () => {
    const index = new ChromaVectorIndex(url!);
    return {
      index,
      replica: new ChromaVectorIndex(url!),
      cleanup: async (collections) => {
        for (const c of collections) await index.dropCollection(c);
      },
    };
  });

  it('creates collections in the cosine space, with no embedding function of its own', async () => {
    const index = new ChromaVectorIndex(url!);
    const name = `tcfg${Date.now()}`;
    await index.upsert(name, [{ id: 'a', document: 'd', metadata: {}, embedding: [1, 0] }]);
    try {
      const res = await fetch(`${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${name}`);
      const body = (await res.json()) as {
        configuration_json: { hnsw: { space: string }; embedding_function: unknown };
      };
      expect(body.configuration_json.hnsw.space).toBe('cosine');
      expect(body.configuration_json.embedding_function).toBeNull();
    } finally {
      await index.dropCollection(name);
    }
  });

  it('recreates a collection deleted behind its back', async () => {
    const index = new ChromaVectorIndex(url!);
    const other = new ChromaVectorIndex(url!);
    const name = `tgone${Date.now()}`;
    await index.upsert(name, [{ id: 'a', document: 'd', metadata: {}, embedding: [1, 0] }]);
    await other.dropCollection(name);
    await index.upsert(name, [{ id: 'b', document: 'd', metadata: {}, embedding: [1, 0] }]);
    expect((await index.list(name)).map((r) => r.id)).toEqual(['b']);
    await index.dropCollection(name);
  });
});

describe('ChromaVectorIndex without a server', () => {
  it('reports an unreachable Chroma as a retryable error naming the URL', async () => {
    const index = new ChromaVectorIndex('http://127.0.0.1:9');
    const err = await index.query('successful_pipelines', { embedding: [1, 0], limit: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toMatch(/Chroma at http:\/\/127\.0\.0\.1:9 is unreachable/);
    await expect(index.ping()).rejects.toBeInstanceOf(RetryableError);
  });

  it('refuses a CHROMA_URL with a path', () => {
    expect(() => new ChromaVectorIndex('http://chroma:8000/api/v2')).toThrow(/must not have a path/);
  });

  it('translates equality filters into Chroma where clauses', () => {
    expect(toChromaWhere(undefined)).toBeUndefined();
    expect(toChromaWhere({})).toBeUndefined();
    expect(toChromaWhere({ language: 'go' })).toEqual({ language: { $eq: 'go' } });
    expect(toChromaWhere({ language: 'go', ok: true })).toEqual({
      $and: [{ language: { $eq: 'go' } }, { ok: { $eq: true } }],
    });
  });
});

describe('ChromaVectorIndex against a server that never answers', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    // accepts connections and keeps them open without a byte in reply
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up after its timeout with a retryable error', async () => {
    const index = new ChromaVectorIndex(`http://127.0.0.1:${port}`, { timeoutMs: 300 });
    const err = await index.list('successful_pipelines').catch((e) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toMatch(/did not answer .* within 300 ms/);
  });
});

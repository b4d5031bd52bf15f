import { randomBytes } from 'node:crypto';
import { ChromaClient } from 'chromadb';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/openDatabase.js';
import { ChromaVectorIndex } from '../../src/vectors/ChromaVectorIndex.js';
import { DimensionMismatchError } from '../../src/vectors/DimensionMismatchError.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { EMBEDDING_DIMENSION, EMBEDDING_VERSION, embedConfiguration } from '../../src/vectors/embed.js';
import { type DroppableVectorIndex, reembedCollection } from '../../src/vectors/reembedCollection.js';
import { extractConfigFromDocument, formatSuccessDocument } from '../../src/vectors/seedDocuments.js';
import { requireChroma } from '../support/chroma.js';
import { openTestStore } from '../support/db.js';

const goConfig = 'stages: [build]\nbuild:\n  stage: build\n  image: golang:1.22\n  script: [go build ./...]\n';
const pyConfig = 'stages: [test]\ntest:\n  stage: test\n  image: python:3.12\n  script: [pytest]\n';

/** What the seed left in Chroma: its documents and metadata, embedded by Chroma's default 384-dimension model. */
function seedRecords() {
  const doc = (language: string, config: string) =>
    formatSuccessDocument({
      language,
      framework: 'generic',
      pipelineId: 211,
      duration: 129,
      passed: ['build'],
      config,
    });
  const fake384 = (seed: number) => Array.from({ length: 384 }, (_, i) => Math.sin(seed * 31 + i));
  return [
    {
      id: 'success_go_generic_617d9411be45',
      document: doc('go', goConfig),
      metadata: {
        language: 'go',
        framework: 'generic',
        pipeline_id: '211',
        duration: 129,
        stages_count: 1,
        timestamp: '2026-02-03T08:04:50.209711',
      },
      embedding: fake384(1),
    },
    {
      id: 'success_python_generic_0123456789ab',
      document: doc('python', pyConfig),
      metadata: {
        language: 'python',
        framework: 'generic',
        pipeline_id: '212',
        duration: 99,
        stages_count: 1,
        timestamp: '2026-02-03T09:00:00',
      },
      embedding: fake384(2),
    },
  ];
}

async function expectReembedded(index: DroppableVectorIndex, collection: string) {
  const result = await reembedCollection(index, collection, { now: new Date('2026-02-05T10:11:12Z') });
  expect(result).toEqual({ collection, reembedded: 2, current: 0, backup: `${collection}_backup_20260205101112` });

  const records = await index.list(collection);
  expect(records).toHaveLength(2);
  for (const r of records) {
    expect(r.embedding).toHaveLength(EMBEDDING_DIMENSION);
    expect(r.metadata.embedding_version).toBe(EMBEDDING_VERSION);
  }
  const go = records.find((r) => r.id === 'success_go_generic_617d9411be45')!;
  expect(go.metadata).toMatchObject({ language: 'go', pipeline_id: '211', duration: 129 });
  expect(extractConfigFromDocument(go.document)).toBe(goConfig);

  // the learned configurations are found by our own embeddings now
  const q = embedConfiguration({ language: 'go', framework: 'generic', config: goConfig });
  const [top] = await index.query(collection, { embedding: q, limit: 1 });
  expect(top.id).toBe('success_go_generic_617d9411be45');
  expect(top.distance).toBeCloseTo(0, 4);

  // the originals, old embeddings included, are kept aside
  const backup = await index.list(result.backup!);
  expect(backup.map((r) => r.embedding.length)).toEqual([384, 384]);

  // a second run has nothing to do and writes no new backup
  expect(await reembedCollection(index, collection)).toEqual({ collection, reembedded: 0, current: 2, backup: null });
  return result.backup!;
}

const url = await requireChroma();

describe.skipIf(!url)('a Chroma the seed filled', () => {
  const client = url
    ? new ChromaClient({ host: new URL(url).hostname, port: Number(new URL(url).port), ssl: false })
    : null;
  const index = url ? new ChromaVectorIndex(url) : null;
  const made: string[] = [];
  afterAll(async () => {
    for (const name of made) await index?.dropCollection(name);
  });

  async function seedCollection(space?: 'l2' | 'ip') {
    const name = `tseed${randomBytes(4).toString('hex')}`;
    made.push(name);
    // as the seed created it: Chroma's defaults (l2 space)
    const col = await client!.getOrCreateCollection({
      name,
      embeddingFunction: null,
      ...(space ? { configuration: { hnsw: { space } } } : {}),
    });
    return { name, col };
  }

  it('refuses our embeddings with a DimensionMismatchError, then re-embeds the collection keeping every record', async () => {
    const { name, col } = await seedCollection();
    const seed = seedRecords();
    await col.add({
      ids: seed.map((r) => r.id),
      embeddings: seed.map((r) => r.embedding),
      documents: seed.map((r) => r.document),
      metadatas: seed.map((r) => r.metadata),
    });
    const ours = {
      id: 'x',
      document: 'd',
      metadata: {},
      embedding: embedConfiguration({ language: 'go', config: goConfig }),
    };
    const err = await index!.upsert(name, [ours]).catch((e) => e);
    expect(err).toBeInstanceOf(DimensionMismatchError);
    expect(err).toMatchObject({ collection: name, stored: 384, given: EMBEDDING_DIMENSION });
    expect(err.message).toMatch(/re-embed/);

    made.push(await expectReembedded(index!, name));
  });

  it('reports cosine distances even from an l2 collection', async () => {
    const { name, col } = await seedCollection('l2');
    const a = embedConfiguration({ language: 'go', config: goConfig });
    const b = embedConfiguration({ language: 'python', config: pyConfig });
    await col.add({ ids: ['a', 'b'], embeddings: [a, b], documents: ['a', 'b'] });
    const res = await index!.query(name, { embedding: a, limit: 2 });
    expect(res.map((r) => r.id)).toEqual(['a', 'b']);
    const cos = 1 - a.reduce((s, v, i) => s + v * b[i], 0);
    expect(res[0].distance).toBeCloseTo(0, 5);
    expect(res[1].distance).toBeCloseTo(cos, 4);
  });
});

describe('re-embedding in the embedded index', () => {
  let store: Store | null = null;
  afterAll(async () => {
    await store?.close();
  });

  it('rewrites records of another dimension, keeping a backup', async () => {
    store = await openTestStore('pglite');
    const index = new EmbeddedVectorIndex(store!.db);
    await index.upsert('successful_pipelines', seedRecords());
    await expect(
      index.upsert('successful_pipelines', [{ id: 'x', document: 'd', metadata: {}, embedding: [1, 0] }]),
    ).rejects.toBeInstanceOf(DimensionMismatchError);
    await expectReembedded(index, 'successful_pipelines');
  });
});

import { describe, expect, it } from 'vitest';
import { embeddingCollection } from '../../src/vectors/embeddingCollection.js';
import { COLLECTIONS } from '../../src/vectors/VectorIndex.js';

describe('embeddingCollection', () => {
  it('keeps the seed names for feature hashing and suffixes the Ollama model otherwise', () => {
    expect(embeddingCollection(COLLECTIONS.successful, null)).toBe('successful_pipelines');
    expect(embeddingCollection(COLLECTIONS.successful, 'nomic-embed-text')).toBe(
      'successful_pipelines_nomic-embed-text',
    );
    expect(embeddingCollection(COLLECTIONS.templates, 'nomic-embed-text:latest')).toBe(
      'pipeline_templates_nomic-embed-text',
    );
    expect(embeddingCollection(COLLECTIONS.feedback, 'hf.co/Org/Model:Q4_K_M')).toBe(
      'pipeline_feedback_hf_co_org_model_q4_k_m',
    );
  });
  it('different models never share a collection', () => {
    const names = ['nomic-embed-text', 'mxbai-embed-large', 'all-minilm:33m'].map((m) => embeddingCollection('x', m));
    expect(new Set(names).size).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/openDatabase.js';
import { ChromaVectorIndex } from '../../src/vectors/ChromaVectorIndex.js';
import { createVectorIndex } from '../../src/vectors/createVectorIndex.js';
import { EmbeddedVectorIndex } from '../../src/vectors/EmbeddedVectorIndex.js';
import { openTestStore, storeKinds } from '../support/db.js';
import { vectorIndexContract } from './vectorIndexContract.js';

for (const kind of storeKinds) {
  const store: Store | null = await openTestStore(kind);
  describe.skipIf(!store)(`EmbeddedVectorIndex on ${kind}`, () => {
    // before the contract suite, which closes the store when it is done
    if (kind === 'pglite') {
      it('is what createVectorIndex picks without CHROMA_URL, and Chroma with it', async () => {
        const embedded = createVectorIndex(null, store!.db);
        expect(embedded.kind).toBe('embedded');
        expect(embedded.index).toBeInstanceOf(EmbeddedVectorIndex);
        await embedded.index.upsert('pipeline_templates', [{ id: 't', document: 'd', metadata: {}, embedding: [1] }]);
        expect(await embedded.index.get('pipeline_templates', ['t'])).toHaveLength(1);
        const chroma = createVectorIndex('http://chroma.internal:8000', store!.db);
        expect(chroma).toMatchObject({ kind: 'chroma', description: 'Chroma at http://chroma.internal:8000' });
        expect(chroma.index).toBeInstanceOf(ChromaVectorIndex);
      });
    }

    vectorIndexContract(`embedded (${kind})`, async () => ({
      index: new EmbeddedVectorIndex(store!.db),
      replica: new EmbeddedVectorIndex(store!.db),
      cleanup: async () => {
        await store!.close();
      },
    }));
  });
}

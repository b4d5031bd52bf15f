import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorIndex, VectorRecord } from '../../src/vectors/VectorIndex.js';

export interface ContractSubject {
  index: VectorIndex;
  /** a second instance over the same store, as another replica of the service would hold */
  replica: VectorIndex;
  /** removes what the suite created (collections on a shared Chroma, the database otherwise) */
  cleanup(collections: string[]): Promise<void>;
}

function unit(angle: number, dim = 4): number[] {
  const v = new Array(dim).fill(0);
  v[0] = Math.cos(angle);
  v[1] = Math.sin(angle);
  return v;
}

function rec(id: string, embedding: number[], metadata: VectorRecord['metadata'] = {}, document = `doc ${id}`) {
  return { id, document, metadata, embedding };
}

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  for (const [i, v] of actual.entries()) expect(v).toBeCloseTo(expected[i], 5);
}

/**
 * The behaviour every VectorIndex must show, run unchanged against Chroma and the embedded index on
 * PGlite and PostgreSQL, so callers can switch CHROMA_URL on or off without noticing.
 */
export function vectorIndexContract(name: string, open: () => Promise<ContractSubject | null>) {
  describe(`VectorIndex contract: ${name}`, () => {
    let subject: ContractSubject;
    const used: string[] = [];
    // Unique names keep runs on a shared, long-lived Chroma server apart.
    const col = (label: string) => {
      const n = `t${randomBytes(4).toString('hex')}_${label}`;
      used.push(n);
      return n;
    };

    beforeAll(async () => {
      const s = await open();
      if (!s) throw new Error('contract subject unavailable');
      subject = s;
    });
    afterAll(async () => {
      await subject?.cleanup(used);
    });

    it('stores records and gets them back by id, in the order asked, skipping unknown ids', async () => {
      const c = col('get');
      await subject.index.upsert(c, [
        rec('a', unit(0), { language: 'go', stages_count: 9, duration: 129.5, learned: true }, 'A doc'),
        rec('b', unit(1), { language: 'python' }),
      ]);
      const got = await subject.index.get(c, ['b', 'missing', 'a']);
      expect(got.map((r) => r.id)).toEqual(['b', 'a']);
      const a = got[1];
      expect(a.document).toBe('A doc');
      expect(a.metadata).toEqual({ language: 'go', stages_count: 9, duration: 129.5, learned: true });
      expect(typeof a.metadata.stages_count).toBe('number');
      expect(typeof a.metadata.learned).toBe('boolean');
      expectClose(a.embedding, unit(0));
      expect(await subject.index.get(c, [])).toEqual([]);
    });

    it('upsert replaces document, embedding and the whole metadata of an existing id', async () => {
      const c = col('overwrite');
      await subject.index.upsert(c, [rec('x', unit(0), { run_count: 1, pipeline_id: '211', old: 'gone soon' }, 'v1')]);
      await subject.index.upsert(c, [rec('x', unit(0.5), { run_count: 2, pipeline_id: '211' }, 'v2')]);
      const [x] = await subject.index.get(c, ['x']);
      expect(x.document).toBe('v2');
      expect(x.metadata).toEqual({ run_count: 2, pipeline_id: '211' });
      expectClose(x.embedding, unit(0.5));
      expect(await subject.index.list(c)).toHaveLength(1);
    });

    it('keeps a record without metadata and can later give it some', async () => {
      const c = col('nometa');
      await subject.index.upsert(c, [rec('bare', unit(0)), rec('rich', unit(1), { k: 'v' })]);
      expect((await subject.index.get(c, ['bare']))[0].metadata).toEqual({});
      await subject.index.upsert(c, [rec('bare', unit(0), { k: 'w' })]);
      expect((await subject.index.get(c, ['bare']))[0].metadata).toEqual({ k: 'w' });
      await subject.index.upsert(c, [rec('rich', unit(1))]);
      expect((await subject.index.get(c, ['rich']))[0].metadata).toEqual({});
    });

    it('lists with equality filters combined with AND, telling booleans, numbers and strings apart', async () => {
      const c = col('list');
      await subject.index.upsert(c, [
        rec('go1', unit(0), { language: 'go', framework: 'gin', tenant: 'acme', ok: true, n: 1 }),
        rec('go2', unit(0.1), { language: 'go', framework: 'generic', tenant: 'acme', ok: false, n: 2 }),
        rec('py1', unit(0.2), { language: 'python', framework: 'fastapi', tenant: 'acme', ok: true, n: 1 }),
        rec('go3', unit(0.3), { language: 'go', framework: 'gin', tenant: 'other', ok: true, n: '1' }),
      ]);
      const ids = async (where?: Record<string, string | number | boolean>, limit?: number) =>
        (await subject.index.list(c, { where, limit })).map((r) => r.id).sort();
      expect(await ids()).toEqual(['go1', 'go2', 'go3', 'py1']);
      expect(await ids({ language: 'go' })).toEqual(['go1', 'go2', 'go3']);
      expect(await ids({ language: 'go', framework: 'gin' })).toEqual(['go1', 'go3']);
      expect(await ids({ language: 'go', framework: 'gin', tenant: 'acme' })).toEqual(['go1']);
      expect(await ids({ ok: true })).toEqual(['go1', 'go3', 'py1']);
      expect(await ids({ ok: false })).toEqual(['go2']);
      expect(await ids({ n: 1 })).toEqual(['go1', 'py1']);
      expect(await ids({ n: '1' })).toEqual(['go3']);
      expect(await ids({ language: 'rust' })).toEqual([]);
      expect(await ids({ language: 'go' }, 2)).toHaveLength(2);
      expect(await subject.index.list(c, { limit: 0 })).toEqual([]);
      const full = await subject.index.list(c, { where: { framework: 'fastapi' } });
      expect(full[0]).toMatchObject({ id: 'py1', document: 'doc py1', metadata: { language: 'python' } });
      expectClose(full[0].embedding, unit(0.2));
    });

    it('ranks query results by cosine distance (1 - cos), honouring where and limit', async () => {
      const c = col('query');
      await subject.index.upsert(c, [
        rec('near', unit(0.1), { language: 'go' }),
        rec('mid', unit(0.8), { language: 'go' }),
        rec('far', unit(2.5), { language: 'go' }),
        rec('nearest-py', unit(0.01), { language: 'python' }),
        // scale must not matter to cosine
        rec(
          'scaled',
          unit(0.4).map((v) => v * 10),
          { language: 'go' },
        ),
      ]);
      const res = await subject.index.query(c, { embedding: unit(0), where: { language: 'go' }, limit: 3 });
      expect(res.map((r) => r.id)).toEqual(['near', 'scaled', 'mid']);
      expect(res[0].distance).toBeCloseTo(1 - Math.cos(0.1), 4);
      expect(res[1].distance).toBeCloseTo(1 - Math.cos(0.4), 4);
      expect(res[2].distance).toBeCloseTo(1 - Math.cos(0.8), 4);
      expect(res[0].document).toBe('doc near');
      expect(res[0].metadata).toEqual({ language: 'go' });
      expectClose(res[0].embedding, unit(0.1));

      const all = await subject.index.query(c, { embedding: unit(0), limit: 10 });
      expect(all.map((r) => r.id)).toEqual(['nearest-py', 'near', 'scaled', 'mid', 'far']);
      expect(all[4].distance).toBeCloseTo(1 - Math.cos(2.5), 4);
      for (let i = 1; i < all.length; i++) expect(all[i].distance).toBeGreaterThanOrEqual(all[i - 1].distance);

      expect(await subject.index.query(c, { embedding: unit(0), where: { language: 'rust' }, limit: 3 })).toEqual([]);
    });

    it('answers queries and lists on a collection nobody wrote to with nothing', async () => {
      const c = col('empty');
      expect(await subject.index.query(c, { embedding: unit(0), limit: 5 })).toEqual([]);
      expect(await subject.index.list(c)).toEqual([]);
      expect(await subject.index.get(c, ['a'])).toEqual([]);
    });

    it('deletes by ids, by where, and by both (AND)', async () => {
      const c = col('delete');
      await subject.index.upsert(c, [
        rec('a', unit(0), { tenant: 'acme', kind: 'x' }),
        rec('b', unit(0.1), { tenant: 'acme', kind: 'y' }),
        rec('c', unit(0.2), { tenant: 'other', kind: 'x' }),
        rec('d', unit(0.3), { tenant: 'other', kind: 'y' }),
        rec('e', unit(0.4), { tenant: 'acme', kind: 'x' }),
      ]);
      const ids = async () => (await subject.index.list(c)).map((r) => r.id).sort();
      await subject.index.delete(c, { ids: ['a', 'nope'] });
      expect(await ids()).toEqual(['b', 'c', 'd', 'e']);
      await subject.index.delete(c, { where: { tenant: 'other', kind: 'y' } });
      expect(await ids()).toEqual(['b', 'c', 'e']);
      await subject.index.delete(c, { ids: ['b', 'c'], where: { tenant: 'acme' } });
      expect(await ids()).toEqual(['c', 'e']);
      await subject.index.delete(c, { ids: [] });
      expect(await ids()).toEqual(['c', 'e']);
      await expect(subject.index.delete(c, {})).rejects.toThrow(/ids or where/);
      expect(await ids()).toEqual(['c', 'e']);
    });

    it('keeps collections apart', async () => {
      const c1 = col('iso1');
      const c2 = col('iso2');
      await subject.index.upsert(c1, [rec('same', unit(0), { in: 'c1' })]);
      await subject.index.upsert(c2, [rec('same', unit(1), { in: 'c2' })]);
      await subject.index.delete(c1, { ids: ['same'] });
      expect(await subject.index.get(c1, ['same'])).toEqual([]);
      expect((await subject.index.get(c2, ['same']))[0].metadata).toEqual({ in: 'c2' });
    });

    it('refuses records Chroma would refuse, writing none of the batch', async () => {
      const c = col('invalid');
      await subject.index.upsert(c, [rec('ok', unit(0))]);
      const bad = [
        [rec('a', unit(0)), rec('a', unit(1))],
        [rec('a', unit(0)), rec('b', [1, 0, 0])],
        [rec('a', unit(0), { nested: { x: 1 } } as never)],
        [rec('a', unit(0), { nothing: null } as never)],
        [rec('a', [Number.NaN, 0, 0, 0])],
        [rec('', unit(0))],
      ];
      for (const records of bad) await expect(subject.index.upsert(c, records)).rejects.toThrow();
      // a collection has one dimension, fixed by its first record
      await expect(subject.index.upsert(c, [rec('a', [1, 0, 0, 0, 0])])).rejects.toThrow(/dimension/);
      await expect(subject.index.query(c, { embedding: [1, 0], limit: 1 })).rejects.toThrow(/dimension/);
      expect((await subject.index.list(c)).map((r) => r.id)).toEqual(['ok']);
      await expect(subject.index.upsert('x', [rec('a', unit(0))])).rejects.toThrow(/collection name/);
    });

    it("sees another replica's writes and deletes on the next query", async () => {
      const c = col('replica');
      await subject.index.upsert(c, [rec('a', unit(0)), rec('b', unit(1)), rec('c', unit(2))]);
      expect((await subject.index.query(c, { embedding: unit(0), limit: 1 }))[0].id).toBe('a');
      await subject.replica.upsert(c, [rec('c', unit(0.05), { moved: true }), rec('a', unit(3))]);
      const after = await subject.index.query(c, { embedding: unit(0), limit: 3 });
      expect(after.map((r) => r.id)).toEqual(['c', 'b', 'a']);
      expect(after[0].metadata).toEqual({ moved: true });
      await subject.replica.delete(c, { ids: ['c'] });
      expect((await subject.index.query(c, { embedding: unit(0), limit: 3 })).map((r) => r.id)).toEqual(['b', 'a']);
      await subject.replica.upsert(c, [rec('c', unit(0))]);
      expect((await subject.index.query(c, { embedding: unit(0), limit: 1 }))[0].id).toBe('c');
    });

    it('handles batches larger than one request', async () => {
      const c = col('bulk');
      const records = Array.from({ length: 1203 }, (_, i) =>
        rec(`r${String(i).padStart(4, '0')}`, unit(i / 1203), { i, even: i % 2 === 0 }),
      );
      await subject.index.upsert(c, records);
      expect(await subject.index.list(c)).toHaveLength(1203);
      expect(await subject.index.list(c, { where: { even: true } })).toHaveLength(602);
      const ids = records.map((r) => r.id);
      expect(await subject.index.get(c, ids)).toHaveLength(1203);
      const top = await subject.index.query(c, { embedding: unit(600 / 1203), limit: 3 });
      expect(top[0].id).toBe('r0600');
      await subject.index.delete(c, { ids: ids.slice(0, 1100) });
      expect(await subject.index.list(c)).toHaveLength(103);
    });
  });
}

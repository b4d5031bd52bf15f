import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/openDatabase.js';
import { repositoryFactsStore } from '../../src/db/repositoryFacts.js';
import { openTestStore } from '../support/db.js';

// PGlite only: what is under test is what the adapter keeps in the process, not the SQL (the GitLab
// call budget tests run the store's statements on both kinds)
describe('repository facts kept in the process', () => {
  let store: Store | null = null;
  beforeAll(async () => {
    store = await openTestStore('pglite');
  });
  afterAll(async () => {
    await store?.close();
  });
  const wipe = async (s: Store) => {
    await s.db.deleteFrom('repository_facts').execute();
    await s.db.deleteFrom('repository_blobs').execute();
  };
  const config = { text: 'test:\n  script: [make test]\n', sha256: 'c'.repeat(64) };

  it('a commit and its blobs, once written or read, are answered again without the database', async () => {
    const s = store!;
    const facts = repositoryFactsStore(s.db);
    const commit = {
      entries: [['.gitlab-ci.yml', 'blob-1']] as Array<[string, string]>,
      readPaths: ['.gitlab-ci.yml'],
      stack: { language: 'go', framework: 'generic' },
    };
    await facts.save(11, 'a'.repeat(40), commit, new Map([['blob-1', config]]));
    await wipe(s);
    // the database no longer has them: only this process's copy can answer
    expect(await facts.facts(11, 'a'.repeat(40))).toEqual(commit);
    expect(await facts.blobs(['blob-1'])).toEqual(new Map([['blob-1', config]]));
    // another store on the same database (another process) has nothing
    const other = repositoryFactsStore(s.db);
    expect(await other.facts(11, 'a'.repeat(40))).toBeNull();
    expect((await other.blobs(['blob-1'])).size).toBe(0);
    // what was read from the database is kept too
    await other.save(12, 'b'.repeat(40), { ...commit, readPaths: [] }, new Map([['blob-2', config]]));
    const third = repositoryFactsStore(s.db);
    expect((await third.blobs(['blob-2'])).size).toBe(1);
    expect((await third.facts(12, 'b'.repeat(40)))?.stack).toEqual(commit.stack);
    await wipe(s);
    expect((await third.blobs(['blob-2'])).size).toBe(1);
    expect(await third.facts(12, 'b'.repeat(40))).not.toBeNull();
  });

  it('keeps no commit before its stack is known, no large file, and hands out frozen facts', async () => {
    const s = store!;
    const facts = repositoryFactsStore(s.db);
    const big = { text: 'x'.repeat(70 * 1024), sha256: 'd'.repeat(64) };
    await facts.save(
      13,
      'e'.repeat(40),
      { entries: [['Makefile', 'blob-big']], readPaths: ['Makefile'], stack: null },
      new Map([['blob-big', big]]),
    );
    await wipe(s);
    expect(await facts.facts(13, 'e'.repeat(40))).toBeNull();
    expect((await facts.blobs(['blob-big'])).size).toBe(0);
    await facts.save(
      14,
      'f'.repeat(40),
      { entries: [], readPaths: ['go.mod'], stack: { language: 'go', framework: 'gin' } },
      new Map(),
    );
    const kept = await facts.facts(14, 'f'.repeat(40));
    expect(() => kept?.readPaths.push('other')).toThrow(TypeError);
    await wipe(s);
  });
});

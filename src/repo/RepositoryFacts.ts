/**
 * What the record step learned about one commit of a project, kept so the next look costs fewer GitLab
 * calls (issue 10 item 3). A commit is immutable, so its facts never go stale; file text is kept by git
 * blob id, which changes exactly when the content does.
 */
export interface RepositoryFacts {
  /** every blob of the tree: [path, blob id] */
  entries: Array<[string, string]>;
  /** the paths the record step read, the files to prefetch next time */
  readPaths: string[];
  /** the detected stack, once detection has run on this commit */
  stack: { language: string; framework: string } | null;
}

/** A file's text as kept (masked by the reader's `mask`) and the sha256 of the original. */
export interface CachedBlob {
  text: string;
  sha256: string;
}

/** The store behind the cache (src/db/repositoryFacts.ts); the reader does the deciding. */
export interface RepositoryFactsStore {
  facts(projectId: number, sha: string): Promise<RepositoryFacts | null>;
  /** the read paths of the project's most recently seen commit (empty when none) */
  latestReadPaths(projectId: number): Promise<string[]>;
  /** the cached files among these blob ids */
  blobs(blobIds: string[]): Promise<Map<string, CachedBlob>>;
  save(projectId: number, sha: string, facts: RepositoryFacts, newBlobs: Map<string, CachedBlob>): Promise<void>;
}

/**
 * Where one record step's repository facts came from: `cache` no GitLab call (a commit seen before),
 * `tree` only the tree listing (every file read was cached by blob id), `full` the listing and at least
 * one file read, `uncached` no cache configured or the ref is not a commit sha.
 */
export type FactsSource = 'cache' | 'tree' | 'full' | 'uncached';

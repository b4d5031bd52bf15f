import { createHash } from 'node:crypto';
import type { GitLab, ProjectRef, TreeEntry } from '../gitlab/GitLab.js';
import type { RepoReader } from './RepoReader.js';
import type { CachedBlob, FactsSource, RepositoryFacts, RepositoryFactsStore } from './RepositoryFacts.js';

/** Larger files are read but not kept in the blob cache. */
const MAX_CACHED_BLOB_CHARS = 512 * 1024;
const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

type Stack = { language: string; framework: string };

/** How long this process keeps a commit's listing and file text it just fetched (both immutable). */
const RECENT_MS = 60_000;
const MAX_RECENT = 1000;

/**
 * Listings and file reads under way or just done, per facts store: two jobs of one commit in one process (a
 * branch pipeline and a merge request pipeline finish together) share one call, also while the first has
 * not saved its facts yet. Keys name immutable things (a commit, a blob id), so sharing is always right.
 */
class Recent<T> {
  private readonly entries = new Map<string, Promise<T>>();
  get(key: string, load: () => Promise<T>): { value: Promise<T>; leader: boolean } {
    const running = this.entries.get(key);
    if (running) return { value: running, leader: false };
    if (this.entries.size >= MAX_RECENT) this.entries.delete(this.entries.keys().next().value as string);
    const value = load();
    this.entries.set(key, value);
    const forget = () => {
      if (this.entries.get(key) === value) this.entries.delete(key);
    };
    value.then(
      () => setTimeout(forget, RECENT_MS).unref?.(),
      () => forget(),
    );
    return { value, leader: true };
  }
}

const recentByStore = new WeakMap<
  RepositoryFactsStore,
  { listings: Recent<TreeEntry[]>; files: Recent<string | null> }
>();

function recentFor(store: RepositoryFactsStore) {
  let r = recentByStore.get(store);
  if (!r) {
    r = { listings: new Recent<TreeEntry[]>(), files: new Recent<string | null>() };
    recentByStore.set(store, r);
  }
  return r;
}

/**
 * A GitLab project at a ref: one recursive tree listing (the GitLab client follows its pages),
 * then raw reads of only the files the analysis asks for, each fetched once.
 *
 * With a facts store and a commit sha (never a branch: it moves), the listing and the files read are
 * kept: a commit seen before costs no call, a new commit whose read files have the same blob ids costs
 * the tree listing only, and a changed, added or renamed file among those read costs its own read.
 * Kept file text goes through `mask` first (values that look like credentials), and so does every read
 * of a cached reader, fresh or not, so what callers see does not depend on the cache; `sha256` gives the
 * hash of the file as it is in the repository.
 */
export class GitLabRepoReader implements RepoReader {
  readonly description: string;
  private listing: Promise<string[]> | null = null;
  private present: Set<string> | null = null;
  private readonly cache = new Map<string, Promise<string | null>>();
  private readonly store: RepositoryFactsStore | null;
  private readonly projectId: number | null;
  private blobIds = new Map<string, string>();
  private cachedBlobs = new Map<string, CachedBlob>();
  private readonly newBlobs = new Map<string, CachedBlob>();
  private readonly hashes = new Map<string, string>();
  private readonly mask: (text: string) => string;
  private readonly readPaths = new Set<string>();
  private known: RepositoryFacts | null = null;
  private fetchedFiles = 0;
  private listedFromTree = false;

  constructor(
    private readonly gitlab: GitLab,
    private readonly project: ProjectRef,
    private readonly ref: string,
    options: { facts?: RepositoryFactsStore | null; mask?: (text: string) => string } = {},
  ) {
    this.mask = options.mask ?? ((text) => text);
    this.description = `${project}@${ref}`;
    const cacheable = options.facts && typeof project === 'number' && FULL_SHA.test(ref);
    this.store = cacheable ? (options.facts ?? null) : null;
    this.projectId = cacheable ? (project as number) : null;
  }

  list(): Promise<string[]> {
    this.listing ??= this.store ? this.listCached() : this.listFromGitLab();
    return this.listing;
  }

  async read(path: string): Promise<string | null> {
    // A file absent from the listing costs no API call.
    this.present ??= new Set(await this.list());
    if (!this.present.has(path)) return null;
    let p = this.cache.get(path);
    if (!p) {
      p = this.readFile(path);
      this.cache.set(path, p);
    }
    return p;
  }

  /** sha256 (hex) of a file as it is in the repository, once a cached reader has read it */
  sha256(path: string): string | null {
    return this.hashes.get(path) ?? null;
  }

  /** Where this commit's facts came from (meaningful once `list` or `read` has run). */
  get source(): FactsSource {
    if (!this.store) return 'uncached';
    if (this.fetchedFiles > 0) return 'full';
    return this.listedFromTree ? 'tree' : 'cache';
  }

  /** The stack detected on this commit before, if any. */
  async knownStack(): Promise<Stack | null> {
    await this.list();
    return this.known?.stack ?? null;
  }

  /**
   * Keeps what this reader learned (listing, read paths, new file text, the detected stack). Nothing is
   * written when the commit's facts were already complete.
   */
  async save(stack: Stack | null): Promise<void> {
    if (!this.store || this.projectId === null || !this.listing) return;
    await this.listing;
    const readPaths = [...this.readPaths].sort();
    const known = this.known;
    const unchanged =
      known &&
      this.newBlobs.size === 0 &&
      readPaths.every((p) => known.readPaths.includes(p)) &&
      (stack === null || (known.stack?.language === stack.language && known.stack?.framework === stack.framework));
    if (unchanged) return;
    await this.store.save(
      this.projectId,
      this.ref,
      {
        entries: [...this.blobIds],
        readPaths: [...new Set([...(known?.readPaths ?? []), ...readPaths])].sort(),
        stack: stack ?? known?.stack ?? null,
      },
      this.newBlobs,
    );
  }

  private listFromGitLab(): Promise<string[]> {
    return this.gitlab
      .tree(this.project, this.ref)
      .then((entries) => entries.filter((e) => e.type === 'blob').map((e) => e.path));
  }

  private async listCached(): Promise<string[]> {
    const store = this.store!;
    const projectId = this.projectId!;
    this.known = await store.facts(projectId, this.ref);
    let prefetch: string[];
    if (this.known) {
      this.blobIds = new Map(this.known.entries);
      prefetch = this.known.readPaths;
    } else {
      const listing = recentFor(store).listings.get(`${projectId}@${this.ref}`, () =>
        this.gitlab.tree(this.project, this.ref),
      );
      const [entries, latest] = await Promise.all([listing.value, store.latestReadPaths(projectId)]);
      this.listedFromTree = listing.leader;
      for (const e of entries) if (e.type === 'blob') this.blobIds.set(e.path, e.id ?? '');
      prefetch = latest;
    }
    const ids = prefetch.map((p) => this.blobIds.get(p)).filter((id): id is string => !!id);
    if (ids.length) this.cachedBlobs = await store.blobs(ids);
    return [...this.blobIds.keys()];
  }

  private async readFile(path: string): Promise<string | null> {
    if (!this.store) return this.gitlab.fileRaw(this.project, path, this.ref);
    this.readPaths.add(path);
    const id = this.blobIds.get(path);
    if (id) {
      const hit = this.cachedBlobs.get(id) ?? (await this.store.blobs([id])).get(id);
      if (hit !== undefined) {
        this.hashes.set(path, hit.sha256);
        return hit.text;
      }
    }
    const fetched = id
      ? recentFor(this.store).files.get(id, () => this.gitlab.fileRaw(this.project, path, this.ref))
      : { value: this.gitlab.fileRaw(this.project, path, this.ref), leader: true };
    if (fetched.leader) this.fetchedFiles++;
    const raw = await fetched.value;
    if (raw === null) return null;
    const blob = { text: this.mask(raw), sha256: createHash('sha256').update(raw).digest('hex') };
    this.hashes.set(path, blob.sha256);
    // PostgreSQL text cannot hold NUL; huge files are not worth keeping
    if (id && blob.text.length <= MAX_CACHED_BLOB_CHARS && !blob.text.includes('\u0000')) this.newBlobs.set(id, blob);
    return blob.text;
  }
}

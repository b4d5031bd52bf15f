import type { GitLab, ProjectRef } from '../gitlab/GitLab.js';
import type { RepoReader } from './RepoReader.js';

/**
 * A GitLab project at a ref: one recursive tree listing (the GitLab client follows its pages),
 * then raw reads of only the files the analysis asks for, each fetched once.
 */
export class GitLabRepoReader implements RepoReader {
  readonly description: string;
  private listing: Promise<string[]> | null = null;
  private present: Set<string> | null = null;
  private readonly cache = new Map<string, Promise<string | null>>();

  constructor(
    private readonly gitlab: GitLab,
    private readonly project: ProjectRef,
    private readonly ref: string,
  ) {
    this.description = `${project}@${ref}`;
  }

  list(): Promise<string[]> {
    this.listing ??= this.gitlab
      .tree(this.project, this.ref)
      .then((entries) => entries.filter((e) => e.type === 'blob').map((e) => e.path));
    return this.listing;
  }

  async read(path: string): Promise<string | null> {
    // A file absent from the listing costs no API call.
    this.present ??= new Set(await this.list());
    if (!this.present.has(path)) return null;
    let p = this.cache.get(path);
    if (!p) {
      p = this.gitlab.fileRaw(this.project, path, this.ref);
      this.cache.set(path, p);
    }
    return p;
  }
}

import type { ColumnType } from 'kysely';

/** One commit of a project as the record step saw it (migration 0008). */
export interface RepositoryFactsTable {
  project_id: ColumnType<number | string, number, number>;
  sha: string;
  /** JSON text: `[[path, blobId], …]` */
  entries: string;
  /** JSON text: `[path, …]` */
  read_paths: ColumnType<string, string | undefined, string>;
  language: string | null;
  framework: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface RepositoryBlobsTable {
  blob_id: string;
  /** masked like stored configurations */
  content: string;
  /** sha256 (hex) of the file as it is in the repository */
  sha256: string;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A token bucket per GitLab instance, shared by every worker on the database. */
export interface GitLabCallBudgetTable {
  instance: string;
  tokens: number;
  updated_ms: number;
}

export interface BudgetTables {
  repository_facts: RepositoryFactsTable;
  repository_blobs: RepositoryBlobsTable;
  gitlab_call_budget: GitLabCallBudgetTable;
}

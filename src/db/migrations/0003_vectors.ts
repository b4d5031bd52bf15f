import type { Kysely } from 'kysely';

// Frozen once released: later changes get a new migration.
export async function up(_db: Kysely<unknown>): Promise<void> {}
export async function down(_db: Kysely<unknown>): Promise<void> {}

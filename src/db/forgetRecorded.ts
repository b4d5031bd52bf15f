import { type ExpressionBuilder, sql } from 'kysely';
import type { Database, Db } from './database.js';

export type ForgetScope = { projectPath: string } | { tenant: string };

/** `path` column matches the project, or every project under the tenant (case-insensitive, like tenants). */
function inScope<T extends keyof Database>(scope: ForgetScope, column: string) {
  return (eb: ExpressionBuilder<Database, T>) => {
    const path = sql<string>`lower(${sql.ref(column)})`;
    if ('projectPath' in scope) return eb(path, '=', scope.projectPath.trim().toLowerCase());
    const tenant = scope.tenant.trim().toLowerCase();
    return eb.or([eb(path, '=', tenant), eb(path, 'like', `${tenant.replace(/[\\%_]/g, '\\$&')}/%`)]);
  };
}

export interface ForgottenCounts {
  runs: number;
  deliveries: number;
  configurations: number;
  proposals: number;
}

/**
 * Deletes what the service recorded for a project or a tenant beside the learner's own evidence:
 * pipeline runs, stored deliveries and their jobs, conversations and proposals, and configurations
 * no other run refers to. One transaction, so a half-forgotten project never remains.
 */
export async function forgetRecorded(db: Db, scope: ForgetScope): Promise<ForgottenCounts> {
  return db.transaction().execute(async (trx) => {
    const projectIds = [
      ...new Set([
        ...(
          await trx.selectFrom('projects').select('project_id').where(inScope(scope, 'path_with_namespace')).execute()
        ).map((r) => Number(r.project_id)),
        ...(
          await trx.selectFrom('pipeline_runs').select('project_id').where(inScope(scope, 'project_path')).execute()
        ).map((r) => Number(r.project_id)),
        ...(
          await trx.selectFrom('conversations').select('project_id').where(inScope(scope, 'project_path')).execute()
        ).map((r) => Number(r.project_id)),
      ]),
    ];
    const runs = await trx.deleteFrom('pipeline_runs').where(inScope(scope, 'project_path')).executeTakeFirst();
    let deliveries = 0;
    let proposals = 0;
    if (projectIds.length) {
      const deliveryIds = (
        await trx.selectFrom('webhook_deliveries').select('id').where('project_id', 'in', projectIds).execute()
      ).map((r) => r.id);
      if (deliveryIds.length) {
        await trx.deleteFrom('jobs').where('delivery_id', 'in', deliveryIds).where('status', '!=', 'running').execute();
        deliveries = Number(
          (await trx.deleteFrom('webhook_deliveries').where('id', 'in', deliveryIds).executeTakeFirst()).numDeletedRows,
        );
      }
      await trx.deleteFrom('command_executions').where('project_id', 'in', projectIds).execute();
      proposals = Number(
        (await trx.deleteFrom('proposals').where('project_id', 'in', projectIds).executeTakeFirst()).numDeletedRows,
      );
      const conversations = trx.selectFrom('conversations').select('id').where('project_id', 'in', projectIds);
      await trx.deleteFrom('messages').where('conversation_id', 'in', conversations).execute();
      await trx.deleteFrom('conversations').where('project_id', 'in', projectIds).execute();
      await trx.deleteFrom('projects').where('project_id', 'in', projectIds).execute();
    }
    const configurations = await trx
      .deleteFrom('configurations')
      .where(inScope(scope, 'first_project_path'))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('pipeline_runs')
              .select('pipeline_id')
              .whereRef('pipeline_runs.config_hash', '=', 'configurations.hash'),
          ),
        ),
      )
      .executeTakeFirst();
    return {
      runs: Number(runs.numDeletedRows),
      deliveries,
      configurations: Number(configurations.numDeletedRows),
      proposals,
    };
  });
}

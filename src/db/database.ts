import type { Kysely } from 'kysely';
import type { BudgetTables } from './tables/budget.js';
import type { CommandTables } from './tables/commands.js';
import type { CoreTables } from './tables/core.js';
import type { LearningTables } from './tables/learning.js';
import type { VectorTables } from './tables/vectors.js';

/** Every table, by area; each area's migration creates its own. */
export interface Database extends CoreTables, LearningTables, VectorTables, CommandTables, BudgetTables {}

export type Db = Kysely<Database>;

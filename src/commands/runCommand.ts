import type { CommandDeps } from './CommandDeps.js';
import type { Verb } from './parseComment.js';
import type { CommandContext, CommandReply, Runner } from './Runner.js';
import { runApprove } from './runners/approve.js';
import { runAsk, runExplain } from './runners/assistant.js';
import { runFeedback, runRate } from './runners/feedback.js';
import { runGenerate } from './runners/generate.js';
import { runHelp } from './runners/help.js';
import { runBest, runStats } from './runners/learnerViews.js';
import { runRollback } from './runners/rollback.js';
import { runShow } from './runners/show.js';
import { runStatus } from './runners/status.js';

export const RUNNERS: Record<Verb, Runner> = {
  help: runHelp,
  generate: runGenerate,
  show: runShow,
  approve: runApprove,
  commit: runApprove,
  status: runStatus,
  rollback: runRollback,
  rate: runRate,
  feedback: runFeedback,
  best: runBest,
  stats: runStats,
  ask: runAsk,
  explain: runExplain,
};

/** Verbs that write to the repository need the approve level; the rest the read level. */
export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['approve', 'commit', 'rollback']);

export function requiredLevel(verb: Verb, config: { approveLevel: number; readLevel: number }): number {
  return WRITE_VERBS.has(verb) ? config.approveLevel : config.readLevel;
}

export const ACCESS_LEVEL_NAMES: Record<number, string> = {
  5: 'Minimal access',
  10: 'Guest',
  15: 'Planner',
  20: 'Reporter',
  30: 'Developer',
  40: 'Maintainer',
  50: 'Owner',
};

export function accessLevelName(level: number): string {
  return ACCESS_LEVEL_NAMES[level] ?? `access level ${level}`;
}

export function runCommand(ctx: CommandContext, deps: CommandDeps): Promise<CommandReply> {
  return RUNNERS[ctx.verb](ctx, deps);
}

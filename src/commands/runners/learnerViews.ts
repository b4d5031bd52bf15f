import { stackPath } from '../../dashboard/pages.js';
import { UserFacingError } from '../../errors.js';
import { tenantOf } from '../../learning/Chooser.js';
import type { ArmView, CommandDeps } from '../CommandDeps.js';
import { foldIfLong, inlineCode, percent } from '../markdown.js';
import type { CommandContext, Runner } from '../Runner.js';

async function stackOf(ctx: CommandContext, deps: CommandDeps) {
  let { language, framework } = ctx.args;
  if (!language || !framework) {
    const latest = await deps.store.latestProposal(ctx.project.id, ctx.mr.iid);
    if (!latest && !language) {
      throw new UserFacingError(
        `I don't know this project's stack yet. Run ${inlineCode('/pipeline generate')} first, or name it: ${inlineCode('/pipeline stats --language node --framework express')}.`,
      );
    }
    language ??= latest?.language;
    framework ??= latest && latest.language === language ? latest.framework : 'generic';
  }
  const context = {
    tenant: tenantOf(ctx.project.path),
    language: language as string,
    framework: framework ?? 'generic',
  };
  const arms = [...(await deps.learner.arms(context))].sort((a, b) => b.mean - a.mean || b.runs - a.runs);
  return { context, arms };
}

function armLine(a: ArmView): string {
  const runs = Math.round(a.runs * 10) / 10;
  return `| ${inlineCode(a.hash.slice(0, 12))} | ${a.label.replace(/\|/g, '/')} | ${a.source} | ${runs} | ${percent(a.mean)} | ${percent(a.low)}–${percent(a.high)} |`;
}

/** The latest pipeline's attribution per configuration, when the learner recorded one. */
function evidenceLines(arms: ArmView[]): string[] {
  const lines = arms
    .filter((a) => a.lastEvidence)
    .map((a) => `- ${inlineCode(a.hash.slice(0, 12))}: ${a.lastEvidence}`);
  return lines.length
    ? ['', '**Latest pipeline evidence:**', foldIfLong(`${lines.length} configurations`, lines.join('\n'))]
    : [];
}

/** A link to the stack's dashboard page when PUBLIC_URL is set (a visitor without a session lands on its login). */
function dashboardLine(deps: CommandDeps, context: { tenant: string; language: string; framework: string }): string[] {
  const base = deps.config.publicUrl;
  if (!base) return [];
  const c = {
    tenant: context.tenant,
    language: context.language.toLowerCase(),
    framework: context.framework.toLowerCase(),
  };
  return ['', `Plots, credible bands and the decision log: [dashboard](${base}${stackPath(c)})`];
}

const HEADER = ['| Configuration | What | Source | Runs | Success | 90% interval |', '|---|---|---|---|---|---|'];

export const runStats: Runner = async (ctx, deps) => {
  const { context, arms } = await stackOf(ctx, deps);
  const stack = inlineCode(`${context.language}/${context.framework}`);
  if (arms.length === 0) {
    return {
      body: `The learner has no configurations for ${stack} in ${inlineCode(context.tenant)} yet. Next: ${inlineCode('/pipeline generate')}.`,
    };
  }
  const runs = arms.reduce((s, a) => s + a.runs, 0);
  return {
    body: [
      `What the learner knows for ${stack} in ${inlineCode(context.tenant)}: ${arms.length} configuration${arms.length === 1 ? '' : 's'}, ${Math.round(runs)} run${Math.round(runs) === 1 ? '' : 's'} in all.`,
      '',
      foldIfLong(`${arms.length} configurations`, [...HEADER, ...arms.map(armLine)].join('\n')),
      ...evidenceLines(arms),
      '',
      'Runs are discounted over time, so recent pipelines weigh more.',
      ...dashboardLine(deps, context),
    ].join('\n'),
  };
};

export const runBest: Runner = async (ctx, deps) => {
  const { context, arms } = await stackOf(ctx, deps);
  const stack = inlineCode(`${context.language}/${context.framework}`);
  const tried = arms.filter((a) => a.runs > 0);
  if (tried.length === 0) {
    return {
      body: `No configuration for ${stack} has pipeline results yet${arms.length ? ` (${arms.length} known, none run)` : ''}. Next: ${inlineCode('/pipeline generate')} and approve one.`,
    };
  }
  const best = tried[0];
  return {
    body: [
      `The best configuration for ${stack} so far is ${inlineCode(best.hash.slice(0, 12))} (${best.label}, ${best.source}): ${percent(best.mean)} success (90% interval ${percent(best.low)}–${percent(best.high)}) over ${Math.round(best.runs * 10) / 10} runs.`,
      '',
      [...HEADER, armLine(best)].join('\n'),
      ...evidenceLines([best]),
      '',
      `Next: ${inlineCode('/pipeline generate')} proposes it when it is still the best bet.`,
      ...dashboardLine(deps, context),
    ].join('\n'),
  };
};

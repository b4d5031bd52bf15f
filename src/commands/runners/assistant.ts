import { inlineCode } from '../markdown.js';
import type { Runner } from '../Runner.js';

const NOT_CONFIGURED = `The local LLM is not configured on this service, so I cannot answer that. An administrator sets ${inlineCode('OLLAMA_HOST')} (and pulls the model, e.g. ${inlineCode('ollama pull llama3.1:8b')}); meanwhile ${inlineCode('/pipeline status')} shows the failed jobs.`;

export const runAsk: Runner = async (ctx, deps) => {
  if (!deps.assistant) return { body: NOT_CONFIGURED };
  const { body } = await deps.assistant.ask({
    project: ctx.project,
    mr: ctx.mr,
    user: ctx.user,
    question: ctx.args.question ?? '',
  });
  return { body };
};

export const runExplain: Runner = async (ctx, deps) => {
  if (!deps.assistant) return { body: NOT_CONFIGURED };
  return deps.assistant.explain({
    project: ctx.project,
    mr: ctx.mr,
    user: ctx.user,
    pipelineId: ctx.args.pipeline ?? null,
  });
};

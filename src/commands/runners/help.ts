import { inlineCode } from '../markdown.js';
import { USAGE, type Verb } from '../parseComment.js';
import type { Runner } from '../Runner.js';

export const HELP: Record<Verb, { line: string; example: string }> = {
  help: { line: 'this list', example: '/pipeline help approve' },
  generate: {
    line: "propose a `.gitlab-ci.yml` for this MR's source branch",
    example: '/pipeline generate --language python --framework fastapi (add --llm to ask the local LLM too)',
  },
  show: { line: 'show a proposal again (default: the latest)', example: '/pipeline show 2' },
  approve: {
    line: 'commit a proposal to the source branch (needs Developer); `--force` if the branch moved',
    example: '/pipeline approve 2',
  },
  commit: { line: 'same as approve', example: '/pipeline commit 2' },
  status: { line: "the newest pipeline of the MR's head: stages and failed jobs", example: '/pipeline status' },
  rollback: { line: 'undo the last approved commit (needs Developer)', example: '/pipeline rollback' },
  rate: { line: 'rate the latest proposal from 1 to 5', example: '/pipeline rate 4 fast and green' },
  feedback: { line: 'tell the maintainers what to improve', example: '/pipeline feedback cache the pip downloads' },
  best: { line: "the configuration with the best record for this project's stack", example: '/pipeline best' },
  stats: { line: "everything the learner knows for this project's stack", example: '/pipeline stats' },
  ask: {
    line: 'ask the local LLM about this MR (it can generate, show, check status, explain; it never commits)',
    example: '/pipeline ask why is the build slow?',
  },
  explain: {
    line: 'why the newest pipeline failed: failed job, attribution, likely cause; a repaired configuration as a new proposal',
    example: '/pipeline explain',
  },
};

export function renderHelp(topic?: Verb, botUsername?: string | null): string {
  if (topic) {
    const h = HELP[topic];
    return [`${inlineCode(USAGE[topic])}: ${h.line}.`, '', `Example: ${inlineCode(h.example)}`].join('\n');
  }
  const rows = ['| Command | What it does | Example |', '|---|---|---|'];
  for (const [verb, h] of Object.entries(HELP)) {
    rows.push(`| ${inlineCode(USAGE[verb as Verb])} | ${h.line} | ${inlineCode(h.example)} |`);
  }
  return [
    'Commands go on the first line of a comment on a merge request' +
      (botUsername ? `, as ${inlineCode('/pipeline <command>')} or ${inlineCode(`@${botUsername} <command>`)}.` : '.'),
    '',
    ...rows,
    '',
    'React with :thumbsup: or :thumbsdown: on a proposal to rate it too.',
    '',
    `Next: ${inlineCode('/pipeline generate')}`,
  ].join('\n');
}

export const runHelp: Runner = async (ctx) => ({ body: renderHelp(ctx.args.topic) });

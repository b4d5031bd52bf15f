/**
 * The comment grammar. Pure: text in, exactly one of command | immediate reply | ignore out.
 * A command is the first non-empty line outside code blocks and quotes:
 *   /pipeline <verb> [args]      or      @<bot-username> <verb> [args]
 */

import { slugProblem } from '../generation/slugs.js';
import { isPolicyName, POLICY_NAMES } from '../learning/policies.js';

export const VERBS = [
  'help',
  'generate',
  'show',
  'approve',
  'commit',
  'status',
  'rollback',
  'rate',
  'feedback',
  'best',
  'stats',
  'ask',
  'explain',
] as const;
export type Verb = (typeof VERBS)[number];

export interface CommandArgs {
  /** proposal number for show/approve/commit */
  proposal?: number;
  force?: boolean;
  language?: string;
  framework?: string;
  policy?: string;
  /** rate 1-5 */
  rating?: number;
  /** free text of rate/feedback */
  text?: string;
  /** help <verb> */
  topic?: Verb;
  /** generate --llm: ask the local LLM even when a proven configuration exists */
  llm?: boolean;
  /** ask: the question */
  question?: string;
  /** explain: a pipeline id (default: the MR head's latest) */
  pipeline?: number;
}

export type ParseResult =
  | { kind: 'command'; verb: Verb; args: CommandArgs; line: string }
  | { kind: 'reply'; message: string }
  | { kind: 'ignore' };

export interface ParseOptions {
  botUsername?: string | null;
}

const IGNORE: ParseResult = { kind: 'ignore' };

/** Lines a command may come from: outside fenced code, `>>>` blocks, `>` quotes, indented code and HTML comments. */
export function commandCandidateLines(text: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  let quoteBlock = false;
  let htmlComment = false;
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const trimmed = raw.trim();
    if (fence) {
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '') fence = null;
      continue;
    }
    if (quoteBlock) {
      if (trimmed === '>>>') quoteBlock = false;
      continue;
    }
    if (htmlComment) {
      if (trimmed.includes('-->')) htmlComment = false;
      continue;
    }
    const fenceOpen = /^(`{3,}|~{3,})/.exec(trimmed);
    if (fenceOpen && /^ {0,3}\S/.test(raw)) {
      fence = fenceOpen[1];
      continue;
    }
    if (trimmed.startsWith('>>>')) {
      quoteBlock = true;
      continue;
    }
    if (trimmed.startsWith('<!--')) {
      if (!trimmed.includes('-->')) htmlComment = true;
      continue;
    }
    if (trimmed.startsWith('>')) continue;
    if (/^( {4}|\t)/.test(raw) && trimmed !== '') continue;
    out.push(raw);
  }
  return out;
}

/** Never throws: any input gives one of the three results. */
export function parseComment(text: unknown, options: ParseOptions = {}): ParseResult {
  if (typeof text !== 'string' || text.length === 0) return IGNORE;
  // A 1 MB note is not a command; GitLab caps notes near 1 MB anyway.
  const lines = commandCandidateLines(text.length > 1_000_000 ? text.slice(0, 1_000_000) : text);
  const index = lines.findIndex((l) => l.trim() !== '');
  if (index < 0) return IGNORE;
  const first = lines[index].trim();
  const rest = lines
    .slice(index + 1)
    .join('\n')
    .trim();

  let remainder: string;
  const slash = /^\/pipeline(?:\s+|$)/i.exec(first);
  if (slash) {
    remainder = first.slice(slash[0].length);
  } else {
    const bot = options.botUsername?.trim();
    if (!bot) return IGNORE;
    const mention = new RegExp(`^@${escapeRegExp(bot)}(?![\\w.-])[,:]?\\s*`, 'i').exec(first);
    if (!mention) return IGNORE;
    remainder = first.slice(mention[0].length);
  }

  const verbToken = remainder.split(/\s+/)[0] ?? '';
  if (verbToken === '') {
    return { kind: 'reply', message: 'Which command? Try `/pipeline help` for the list.' };
  }
  const verbWord = verbToken.toLowerCase();
  const argText = remainder.slice(verbToken.length).trim();
  if (!(VERBS as readonly string[]).includes(verbWord)) {
    const guess = closestVerb(verbWord);
    const shown = `\`${truncate(verbToken, 40).replace(/`/g, "'")}\``;
    return {
      kind: 'reply',
      message: guess
        ? `Unknown command ${shown}. Did you mean \`/pipeline ${guess}\`?`
        : `Unknown command ${shown}. Try \`/pipeline help\` for the list.`,
    };
  }
  const verb = verbWord as Verb;
  const parsed = parseArgs(verb, argText, rest);
  if ('error' in parsed) return { kind: 'reply', message: `${parsed.error}\n\nUsage: \`${USAGE[verb]}\`` };
  return { kind: 'command', verb, args: parsed.args, line: truncate(first, 500) };
}

export const USAGE: Record<Verb, string> = {
  help: '/pipeline help [command]',
  generate: '/pipeline generate [--language L] [--framework F] [--policy P] [--llm]',
  show: '/pipeline show [N]',
  approve: '/pipeline approve [N] [--force]',
  commit: '/pipeline commit [N] [--force]',
  status: '/pipeline status',
  rollback: '/pipeline rollback [--force]',
  rate: '/pipeline rate <1-5> [text]',
  feedback: '/pipeline feedback <text>',
  best: '/pipeline best [--language L] [--framework F]',
  stats: '/pipeline stats [--language L] [--framework F]',
  ask: '/pipeline ask <question>',
  explain: '/pipeline explain [pipeline id]',
};

type ArgResult = { args: CommandArgs } | { error: string };

const SLUG = /^[a-z0-9][a-z0-9+#._-]{0,63}$/;

function tokens(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

function parseFlags(
  argText: string,
  allowed: { value: string[]; bool: string[]; positional: 'number' | 'none' },
): ArgResult {
  const args: CommandArgs = {};
  const toks = tokens(argText);
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = (eq >= 0 ? tok.slice(2, eq) : tok.slice(2)).toLowerCase();
      if (allowed.bool.includes(name)) {
        if (eq >= 0) return { error: `\`--${name}\` takes no value.` };
        if (name === 'llm') args.llm = true;
        else args.force = true;
        continue;
      }
      if (!allowed.value.includes(name)) {
        const known = [...allowed.value, ...allowed.bool].map((f) => `--${f}`);
        return {
          error: known.length
            ? `Unknown option \`${truncate(tok, 40)}\`; this command takes ${known.map((k) => `\`${k}\``).join(', ')}.`
            : `\`${truncate(tok, 40)}\`: this command takes no options.`,
        };
      }
      let value: string | undefined;
      if (eq >= 0) value = tok.slice(eq + 1);
      else value = toks[++i];
      if (!value || value.startsWith('--')) return { error: `\`--${name}\` needs a value.` };
      value = value.toLowerCase();
      if (name === 'policy') {
        if (!isPolicyName(value)) {
          return {
            error: `Unknown policy \`${truncate(value, 40)}\`; choose one of ${POLICY_NAMES.map((p) => `\`${p}\``).join(', ')}.`,
          };
        }
        args.policy = value;
      } else {
        if (!SLUG.test(value))
          return { error: `\`--${name}\` wants a lowercase name such as \`node\` or \`fastapi\`.` };
        if (name === 'language') args.language = value;
        else args.framework = value;
      }
      continue;
    }
    if (allowed.positional === 'number' && args.proposal === undefined) {
      const m = /^#?(\d{1,9})$/.exec(tok);
      if (m && Number(m[1]) > 0) {
        args.proposal = Number(m[1]);
        continue;
      }
      return { error: `\`${truncate(tok, 40)}\` is not a proposal number.` };
    }
    return { error: `Unexpected \`${truncate(tok, 40)}\`.` };
  }
  const problem = slugProblem(args.language, args.framework);
  if (problem) return { error: `${problem[0].toUpperCase()}${problem.slice(1)}.` };
  return { args };
}

function parseArgs(verb: Verb, argText: string, rest: string): ArgResult {
  switch (verb) {
    case 'help': {
      const topic = tokens(argText)[0]?.toLowerCase();
      if (!topic) return { args: {} };
      if (!(VERBS as readonly string[]).includes(topic))
        return { error: `There is no command \`${truncate(topic, 40)}\`.` };
      return { args: { topic: topic as Verb } };
    }
    case 'generate':
      return parseFlags(argText, { value: ['language', 'framework', 'policy'], bool: ['llm'], positional: 'none' });
    case 'ask': {
      const question = joinText(argText, rest);
      if (!question) return { error: 'Ask a question, e.g. `/pipeline ask why did the test job fail?`.' };
      return { args: { question } };
    }
    case 'explain': {
      const t = tokens(argText);
      if (t.length === 0) return { args: {} };
      const m = t.length === 1 ? /^#?(\d{1,12})$/.exec(t[0]!) : null;
      if (!m) return { error: `\`${truncate(argText, 40)}\` is not a pipeline id.` };
      return { args: { pipeline: Number(m[1]) } };
    }
    case 'best':
    case 'stats':
      return parseFlags(argText, { value: ['language', 'framework'], bool: [], positional: 'none' });
    case 'show':
      return parseFlags(argText, { value: [], bool: [], positional: 'number' });
    case 'approve':
    case 'commit':
      return parseFlags(argText, { value: [], bool: ['force'], positional: 'number' });
    case 'rollback':
      return parseFlags(argText, { value: [], bool: ['force'], positional: 'none' });
    case 'status':
      return parseFlags(argText, { value: [], bool: [], positional: 'none' });
    case 'rate': {
      const [first, ...more] = tokens(argText);
      const m = first ? /^([1-5])(?:\/5)?$/.exec(first) : null;
      if (!m) return { error: 'Give a rating from 1 (poor) to 5 (excellent), e.g. `/pipeline rate 4 builds fast`.' };
      const text = joinText(more.join(' '), rest);
      return { args: { rating: Number(m[1]), ...(text ? { text } : {}) } };
    }
    case 'feedback': {
      const text = joinText(argText, rest);
      if (!text)
        return { error: 'Tell me what to improve, e.g. `/pipeline feedback the test job needs a postgres service`.' };
      return { args: { text } };
    }
  }
}

function joinText(a: string, b: string): string {
  return truncate([a.trim(), b.trim()].filter(Boolean).join('\n'), 4000);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The known verb nearest to a typo, when it is close enough to be a typo. */
export function closestVerb(word: string): Verb | null {
  if (word.length > 30) return null;
  let best: Verb | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const verb of VERBS) {
    const d = verb.startsWith(word) && word.length >= 2 ? 0.5 : levenshtein(word, verb);
    if (d < bestDistance) {
      bestDistance = d;
      best = verb;
    }
  }
  const limit = word.length <= 4 ? 1 : 2;
  return bestDistance <= limit ? best : null;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

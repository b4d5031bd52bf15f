/** Markdown helpers for replies. Every reply goes through `safeReply` before it is posted. */

/** A fence longer than any backtick run inside, so YAML with backticks cannot break out. */
export function codeBlock(content: string, language = ''): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${content.replace(/\n+$/, '')}\n${fence}`;
}

export function folded(summary: string, body: string): string {
  return `<details><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

/** `<summary>` is HTML: GitLab does not render markdown inside it. */
export function htmlCode(s: string): string {
  return `<code>${s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</code>`;
}

export function inlineCode(s: string): string {
  const clean = s.replace(/\n/g, ' ');
  return clean.includes('`') ? `\`\` ${clean} \`\`` : `\`${clean}\``;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 8) : 'unknown';
}

export function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** Folds bodies longer than this many lines behind `<details>`. */
export const FOLD_LINES = 15;

export function foldIfLong(summary: string, body: string): string {
  return body.split('\n').length > FOLD_LINES ? folded(summary, body) : body;
}

/**
 * GitLab runs quick actions found in notes the bot posts too: no line outside a code block may start
 * with `/`. Such a line gets a backslash, which markdown hides.
 */
export function safeReply(body: string): string {
  let fence: string | null = null;
  const out: string[] = [];
  for (const line of body.split('\n')) {
    const trimmed = line.trim();
    if (fence) {
      if (trimmed.startsWith(fence)) fence = null;
      out.push(line);
      continue;
    }
    const open = /^(`{3,}|~{3,})/.exec(trimmed);
    if (open) {
      fence = open[1];
      out.push(line);
      continue;
    }
    out.push(/^\s*\//.test(line) ? line.replace(/^(\s*)\//, '$1\\/') : line);
  }
  return out.join('\n');
}

/** GitLab caps notes at 1,000,000 characters; stay well below. */
export const MAX_REPLY_CHARS = 200_000;

export function capLength(body: string): string {
  if (body.length <= MAX_REPLY_CHARS) return body;
  return `${body.slice(0, MAX_REPLY_CHARS)}\n\n… (cut: the full text is too long for a comment)`;
}

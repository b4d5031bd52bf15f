/**
 * Masks values that look like credentials in a CI configuration or Dockerfile before it is stored
 * or shared as a learned example. Variable names decide (TOKEN, PASSWORD, SECRET, KEY, …), plus
 * token shapes anywhere (GitLab PATs, AWS keys, URLs with user:password@).
 */
export const SECRET_NAME =
  /(^|[_.-])(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|secret[_-]?key|credentials?|auth)$/i;
const MASK = '[MASKED]';

const TOKEN_SHAPES: RegExp[] = [
  /\bgl(pat|dt|rt|cbt|ptt|ft|imt|agent|oas|soat|ffct|sa)-[A-Za-z0-9_.-]{8,}/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g,
  /\bxox[abpr]-[A-Za-z0-9-]{10,}/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/** `NAME: value`, `NAME=value`, `ENV NAME value`, `ARG NAME=value` where NAME looks secret. */
const ASSIGNMENT =
  /^(\s*(?:-\s+)?(?:export\s+|ENV\s+|ARG\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?::\s+|=|\s+(?=[^\s:=])))(.+?)\s*$/;

function isReference(value: string): boolean {
  const v = value.replace(/^["']|["']$/g, '').trim();
  // a variable reference or an empty value carries no secret
  return (
    v === '' ||
    /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(v) ||
    v === '|' ||
    v === '>' ||
    v.startsWith('{') ||
    v.startsWith('[') ||
    v.startsWith('&') ||
    v.startsWith('*')
  );
}

export function maskCredentials(text: string): string {
  const lines = text.split('\n').map((line) => {
    const m = ASSIGNMENT.exec(line);
    if (!m) return line;
    const [, prefix, name, value] = m;
    if (!SECRET_NAME.test(name!) || isReference(value!)) return line;
    if (/^\s*(?:-\s+)?[A-Za-z_][\w.-]*:\s*$/.test(line)) return line;
    return `${prefix}${MASK}`;
  });
  let out = lines.join('\n');
  for (const re of TOKEN_SHAPES) out = out.replace(re, MASK);
  out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@'"]+:)[^@\s/'"$]+@/gi, `$1${MASK}@`);
  return out;
}

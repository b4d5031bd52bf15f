import { looksSecret } from '../generation/pipelinePolicy.js';
import { maskCredentials } from '../maskCredentials.js';

/**
 * The tail of a job trace as it may be sent to the model (`/pipeline explain`, the failure reply):
 * terminal colours and GitLab's section markers removed, then every credential masked —
 * what maskCredentials masks in files (secret-looking assignments, token shapes, URL passwords),
 * plus what traces add: `$ `-prefixed commands, `NAME=value` anywhere on a line, `Authorization:`,
 * `PRIVATE-TOKEN:`, `JOB-TOKEN:` and `X-Gitlab-Token:` headers, bearer tokens, JWTs, the lines of a
 * private key whose BEGIN was cut off, and the values the caller knows are secret. Masking happens
 * on a window larger than the tail, so a secret straddling the cut is masked before it is cut.
 */
export interface TraceTailOptions {
  /** lines kept from the end (default 150) */
  maxLines?: number;
  /** characters kept from the end (default 8000) */
  maxChars?: number;
  /** exact values to mask wherever they appear (e.g. the project's masked CI variables, the service's own tokens) */
  secretValues?: readonly string[];
}

const MASK = '[MASKED]';
const WINDOW = 256 * 1024;

const HEADER =
  /\b(authorization|proxy-authorization|private-token|job-token|deploy-token|x-gitlab-token|x-api-key|cookie)(\s*[:=]\s*)("?)([^"\r\n]+)/gi;
const BEARER = /\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
const INLINE_ASSIGNMENT = /\b([A-Za-z_][A-Za-z0-9_]*)(=|:\s)("[^"]*"|'[^']*'|[^\s"';&|]+)/g;
const CUT_KEY = /^[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are control characters
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g;
const SECTION = /^section_(start|end):\d+:[^\r\n]*?(\r|$)/gm;

function isReference(v: string): boolean {
  return /^["']?\$\{?[A-Za-z_][A-Za-z0-9_]*\}?["']?$/.test(v) || v === '' || v === '""' || v === "''";
}

export function maskTraceText(text: string, secretValues: readonly string[] = []): string {
  let out = text.replace(ANSI, '').replace(SECTION, '').replace(/\r\n?/g, '\n');
  for (const v of [...secretValues].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length))
    out = out.split(v).join(MASK);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(out.split('-----END')[0] ?? '') && CUT_KEY.test(out))
    out = out.replace(CUT_KEY, MASK);
  // maskCredentials reads lines as files have them: show it the command without the shell's `$ ` prompt
  out = out
    .split('\n')
    .map((line) => {
      const m = /^(\$\s+)(.*)$/.exec(line);
      return m ? `${m[1]}${maskCredentials(m[2]!)}` : line;
    })
    .join('\n');
  out = maskCredentials(out);
  // a key whose END is past the end of the trace (the job died while printing it)
  out = out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----(?![\s\S]*-----END)[\s\S]*$/, MASK);
  out = out.replace(HEADER, (_all, name: string, sep: string, quote: string) => `${name}${sep}${quote}${MASK}`);
  out = out.replace(BEARER, (all: string, scheme: string) => (all.includes(MASK) ? all : `${scheme} ${MASK}`));
  out = out.replace(JWT, MASK);
  out = out.replace(INLINE_ASSIGNMENT, (all: string, name: string, sep: string, value: string) =>
    looksSecret(name) && !isReference(value) && value !== MASK ? `${name}${sep}${MASK}` : all,
  );
  return out;
}

export function maskTraceTail(trace: string, options: TraceTailOptions = {}): string {
  const maxLines = options.maxLines ?? 150;
  const maxChars = options.maxChars ?? 8000;
  const window = trace.length > WINDOW ? trace.slice(-WINDOW) : trace;
  const masked = maskTraceText(window, options.secretValues);
  const lines = masked.replace(/\n+$/, '').split('\n');
  let tail = lines.slice(-maxLines).join('\n');
  if (tail.length > maxChars) tail = tail.slice(-maxChars).replace(/^[^\n]*\n/, '');
  return tail;
}

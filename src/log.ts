import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Header and field names whose values never reach a log line, whatever object carries them. */
const SECRET_KEYS = [
  'authorization',
  'x-gitlab-token',
  'private-token',
  'job-token',
  'webhook-signature',
  'token',
  'secret',
  'password',
  'gitlab_token',
  'gitlabToken',
  'apiToken',
  'signingToken',
];

const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`;
  return [k.includes('-') ? `["${k}"]` : k, `*${key}`, `*.*${key}`, `headers${key}`, `req.headers${key}`];
});

/** Token shapes GitLab and this service use; masked inside any logged text (error messages, URLs). */
const TOKEN_PATTERNS: RegExp[] = [
  /\bgl[a-z]{2,5}-[A-Za-z0-9_.-]{8,}/g,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  /((?:private|job)-token|authorization|x-gitlab-token)(["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^\s"',}]+/gi,
  /(\/\/[^/\s:@]+:)[^@\s/]+@/g,
];

/** Masks known secret values and token-looking text. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  out = out.replace(TOKEN_PATTERNS[0]!, '[redacted]').replace(TOKEN_PATTERNS[1]!, '[redacted]');
  out = out.replace(TOKEN_PATTERNS[2]!, (_m, name: string, sep: string) => `${name}${sep}[redacted]`);
  out = out.replace(TOKEN_PATTERNS[3]!, (_m, user: string) => `${user}[redacted]@`);
  return out;
}

/** What a logged error keeps: its kind, message, stack and codes; never request or query data. */
const ERROR_FIELDS = [
  'type',
  'name',
  'message',
  'stack',
  'code',
  'status',
  'errno',
  'syscall',
  'severity',
  'routine',
] as const;

export interface LogOptions {
  level?: string;
  /** values that must never appear in a log line (configured tokens and secrets) */
  secrets?: readonly string[];
  destination?: DestinationStream;
}

/**
 * JSON logs. Secret-named fields are removed by path; error messages and stacks (which client
 * libraries fill with request details) are scrubbed of configured secrets and token shapes.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length > 0);
  const scrub = (t: string) => scrubSecrets(t, secrets);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'pipeline-learner' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        // An allow-list: drivers and clients hang request data on their errors (postgres.js puts the
        // statement's `parameters` there, i.e. a whole webhook payload), and no log line may carry one.
        err: (err: unknown) => {
          const e = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
          const out: Record<string, unknown> = {};
          for (const k of ERROR_FIELDS) {
            const v = e[k];
            if (v === undefined || v === null) continue;
            if (typeof v === 'string') out[k] = scrub(v).slice(0, k === 'stack' ? 4000 : 1000);
            else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
          }
          return out;
        },
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination,
  );
}

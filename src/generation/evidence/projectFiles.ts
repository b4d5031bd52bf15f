import { parse } from 'yaml';
import {
  type ServiceKind,
  type ServiceNeed,
  serviceKindOfImage,
  serviceKindOfUrl,
  versionOfImage,
} from './services.js';

/**
 * Parsers for the repository's own automation and settings files. Each takes the file's text
 * (repository content is data, never instructions) and returns plain facts.
 */

export interface ComposeService {
  name: string;
  image: string | null;
  /** the Dockerfile a `build:` entry names, relative to the repository root */
  dockerfile: string | null;
  /** its build context, relative to the repository root ('' for the root) */
  context: string | null;
}

function yamlObject(text: string): Record<string, unknown> | null {
  try {
    const v = parse(text, { maxAliasCount: 100 });
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function posixJoin(dir: string, file: string): string {
  const parts: string[] = [];
  for (const seg of `${dir}/${file}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/** Services of a compose file (`docker-compose.yml`, `compose.yaml`, …) at `path`. */
export function parseCompose(path: string, text: string): ComposeService[] {
  const doc = yamlObject(text);
  const services = doc?.services;
  if (!services || typeof services !== 'object') return [];
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
  const out: ComposeService[] = [];
  for (const [name, raw] of Object.entries(services as Record<string, unknown>)) {
    const s = (raw ?? {}) as Record<string, unknown>;
    let dockerfile: string | null = null;
    let context: string | null = null;
    if (typeof s.build === 'string') {
      context = posixJoin(dir, s.build);
      dockerfile = posixJoin(context, 'Dockerfile');
    } else if (s.build && typeof s.build === 'object') {
      const b = s.build as Record<string, unknown>;
      context = posixJoin(dir, typeof b.context === 'string' ? b.context : '.');
      dockerfile = posixJoin(context, typeof b.dockerfile === 'string' ? b.dockerfile : 'Dockerfile');
    }
    out.push({ name, image: typeof s.image === 'string' ? s.image : null, dockerfile, context });
  }
  return out;
}

/** Service needs from images (compose or CI services). */
export function needsFromImages(images: Array<{ image: string; from: string }>): ServiceNeed[] {
  const out: ServiceNeed[] = [];
  for (const { image, from } of images) {
    const kind = serviceKindOfImage(image);
    if (kind) out.push({ kind, version: versionOfImage(image), from });
  }
  return out;
}

/** Targets of task runners: Makefile, justfile, Taskfile.yml, tox.ini, noxfile.py, Rakefile, composer.json scripts. */
export function parseTargets(file: string, text: string): string[] {
  const name = file.split('/').pop()!.toLowerCase();
  let targets: string[] = [];
  if (name === 'makefile' || name === 'gnumakefile' || name.endsWith('.mk')) {
    targets = [...text.matchAll(/^([A-Za-z][\w.-]*)\s*:(?!=)/gm)].map((m) => m[1]);
  } else if (name === 'justfile' || name === '.justfile') {
    targets = [...text.matchAll(/^@?([A-Za-z][\w-]*)(?:\s+[^:=\n]*)?:(?!=)/gm)].map((m) => m[1]);
  } else if (/^taskfile\.ya?ml$/.test(name)) {
    const doc = yamlObject(text);
    targets = doc?.tasks && typeof doc.tasks === 'object' ? Object.keys(doc.tasks) : [];
  } else if (name === 'tox.ini') {
    const envlist = text.match(/^envlist\s*=\s*([^\n]+(?:\n[ \t]+[^\n]+)*)/m)?.[1] ?? '';
    targets = [
      ...envlist.split(/[\s,]+/).filter(Boolean),
      ...[...text.matchAll(/^\[testenv:([^\]]+)\]/gm)].map((m) => m[1]),
    ];
  } else if (name === 'noxfile.py') {
    targets = [...text.matchAll(/@nox\.session[^\n]*\n\s*def\s+(\w+)/g)].map((m) => m[1]);
  } else if (name === 'rakefile') {
    targets = [...text.matchAll(/\btask\s+[:"']?(\w+)/g)].map((m) => m[1]);
    if (/RSpec::Core::RakeTask|Rake::TestTask/.test(text)) targets.push(/RSpec/.test(text) ? 'spec' : 'test');
  } else if (name === 'composer.json') {
    try {
      targets = Object.keys((JSON.parse(text) as { scripts?: Record<string, unknown> }).scripts ?? {});
    } catch {
      targets = [];
    }
  }
  return [...new Set(targets)].filter((t) => !/^(PHONY|DEFAULT|SUFFIXES|default|all|help|clean)$/i.test(t));
}

/** The target that runs the tests, or lints, among a runner's targets. */
export function pickTarget(targets: string[], purpose: 'test' | 'lint'): string | null {
  const names =
    purpose === 'test'
      ? ['test', 'tests', 'check', 'unit', 'pytest', 'spec', 'test-all', 'ci']
      : ['lint', 'check-lint', 'style', 'fmt-check'];
  return names.find((n) => targets.includes(n)) ?? null;
}

/** `.tool-versions` (asdf) and `.mise.toml` / `mise.toml` ([tools]) as tool → version. */
export function parseToolVersions(file: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (file.endsWith('.tool-versions')) {
    for (const line of text.split('\n')) {
      const [tool, version] = line.replace(/#.*$/, '').trim().split(/\s+/);
      if (tool && version) out[tool] = version;
    }
    return out;
  }
  const tools = text.match(/^\[tools\]\s*\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m)?.[1] ?? '';
  for (const m of tools.matchAll(/^\s*"?([\w@/.-]+)"?\s*=\s*(?:"([^"]+)"|\[\s*"([^"]+)")/gm)) out[m[1]] = m[2] ?? m[3];
  return out;
}

/** What a settings file says about the database: which service, and the environment variables it reads. */
export interface DatabaseSettings {
  needs: ServiceNeed[];
  /** variable name → example value ('' when none) */
  env: Record<string, string>;
}

const DJANGO_ENGINES: Array<[RegExp, ServiceKind]> = [
  [/postgresql|postgis|psycopg/, 'postgres'],
  [/mysql/, 'mysql'],
];

/** Names of environment variables a settings file reads (os.environ, getenv, django-environ, ENV[…], pydantic fields). */
function envNamesRead(text: string): string[] {
  const names = new Set<string>();
  const res = [
    /os\.environ(?:\.get)?\s*[([]\s*["']([A-Z][A-Z0-9_]*)["']/g,
    /os\.getenv\(\s*["']([A-Z][A-Z0-9_]*)["']/g,
    /\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']/g,
    /\bconfig\(\s*["']([A-Z][A-Z0-9_]*)["']/g,
    /ENV(?:\.fetch\(\s*|\[\s*)["']([A-Z][A-Z0-9_]*)["']/g,
  ];
  for (const re of res) for (const m of text.matchAll(re)) names.add(m[1]);
  return [...names];
}

const DB_VAR =
  /DATABASE|^(CACHE_STORE|CACHE_DRIVER|QUEUE_CONNECTION|SESSION_DRIVER)$|(^|_)DB(_|$)|POSTGRES|^PG|MYSQL|MARIA|REDIS|MONGO|RABBIT|AMQP|CELERY|BROKER|ELASTIC|OPENSEARCH|SQLALCHEMY/;

/**
 * Database facts from one settings file: Django settings (DATABASES/ENGINE), Rails
 * config/database.yml (adapter), an env example (DATABASE_URL, Laravel DB_CONNECTION), or a
 * Python settings module (SQLAlchemy URLs, pydantic settings fields).
 */
export function parseDatabaseSettings(file: string, text: string): DatabaseSettings {
  const needs: ServiceNeed[] = [];
  const env: Record<string, string> = {};
  const name = file.split('/').pop()!;
  if (/^\.env(\.|$)|\.env\.(example|sample|dist|template)$/.test(name) || name === 'env.example') {
    for (const m of text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]*)[ \t]*=[ \t]*["']?([^"'\n#]*)/gm)) {
      const [, key, value] = m;
      if (!DB_VAR.test(key)) continue;
      env[key] = value.trim();
      const kind = serviceKindOfUrl(value);
      if (kind) needs.push({ kind, version: null, from: file });
      if (key === 'DB_CONNECTION') {
        const conn = value.trim().toLowerCase();
        if (conn === 'pgsql') needs.push({ kind: 'postgres', version: null, from: file });
        else if (conn === 'mysql') needs.push({ kind: 'mysql', version: null, from: file });
        else if (conn === 'mariadb') needs.push({ kind: 'mariadb', version: null, from: file });
      }
      // REDIS_HOST is in every Laravel .env.example; only a driver set to redis means the app uses it
      if (/^(CACHE_STORE|CACHE_DRIVER|QUEUE_CONNECTION|SESSION_DRIVER)$/.test(key) && /^redis$/i.test(value.trim()))
        needs.push({ kind: 'redis', version: null, from: file });
    }
    return { needs, env };
  }
  if (name === 'database.yml') {
    const adapter = text.match(/^\s*adapter:\s*["']?(\w+)/m)?.[1] ?? '';
    if (/postg/.test(adapter)) needs.push({ kind: 'postgres', version: null, from: file });
    else if (/mysql|trilogy/.test(adapter)) needs.push({ kind: 'mysql', version: null, from: file });
    for (const n of envNamesRead(text)) env[n] = '';
    return { needs, env };
  }
  // Python settings (Django, FastAPI/SQLAlchemy, pydantic-settings)
  const databases = text.match(/DATABASES\s*=\s*\{[\s\S]*?\n\}/)?.[0] ?? '';
  for (const [re, kind] of DJANGO_ENGINES)
    if (re.test(databases.match(/ENGINE["']\s*:\s*["']([^"']+)/)?.[1] ?? ''))
      needs.push({ kind, version: null, from: file });
  for (const m of text.matchAll(
    /["']((?:postgres(?:ql)?|mysql|mariadb|redis|mongodb|amqp)(?:\+\w+)?:\/\/[^"']*)["']/g,
  )) {
    const kind = serviceKindOfUrl(m[1]);
    if (kind) needs.push({ kind, version: null, from: file });
  }
  for (const n of envNamesRead(text)) if (DB_VAR.test(n)) env[n] = '';
  // pydantic BaseSettings: fields are read from the environment by name
  if (/BaseSettings/.test(text)) {
    for (const m of text.matchAll(/^\s{4}([A-Z][A-Z0-9_]*)\s*:\s*[\w[]/gm)) if (DB_VAR.test(m[1])) env[m[1]] = '';
    if (/\bPostgresDsn\b|postgresql\+|POSTGRES_/.test(text))
      needs.push({ kind: 'postgres', version: null, from: file });
  }
  return { needs, env };
}

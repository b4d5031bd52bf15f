import { SERVICE_VERSIONS } from '../versions.js';

export type ServiceKind =
  | 'postgres'
  | 'mysql'
  | 'mariadb'
  | 'redis'
  | 'mongodb'
  | 'rabbitmq'
  | 'elasticsearch'
  | 'opensearch';

/** A service the tests need, and where that was read. */
export interface ServiceNeed {
  kind: ServiceKind;
  /** image tag from the project's compose file or CI, else null (the default release is used) */
  version: string | null;
  from: string;
}

interface ServiceKindSpec {
  image: string;
  /** key of SERVICE_VERSIONS */
  versionKey: string;
  alias: string;
  port: number;
  /** the service container's own settings */
  variables: Record<string, string>;
  command?: string[];
  user: string;
  password: string;
  /** URL scheme applications use */
  scheme: string;
  /** a database name belongs in the URL */
  database: boolean;
  /** words in an environment variable's name that point at this service */
  words: RegExp;
}

/** The test database: name, user and password every generated service and variable agrees on. */
export const TEST_DB = 'test';

export const SERVICE_KINDS: Record<ServiceKind, ServiceKindSpec> = {
  postgres: {
    image: 'postgres',
    versionKey: 'postgres',
    alias: 'postgres',
    port: 5432,
    variables: { POSTGRES_DB: TEST_DB, POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'postgres' },
    user: 'postgres',
    password: 'postgres',
    scheme: 'postgres',
    database: true,
    words: /POSTGRES|PG|PSQL/,
  },
  mysql: {
    image: 'mysql',
    versionKey: 'mysql',
    alias: 'mysql',
    port: 3306,
    variables: { MYSQL_DATABASE: TEST_DB, MYSQL_ROOT_PASSWORD: 'root' },
    user: 'root',
    password: 'root',
    scheme: 'mysql',
    database: true,
    words: /MYSQL/,
  },
  mariadb: {
    image: 'mariadb',
    versionKey: 'mariadb',
    alias: 'mariadb',
    port: 3306,
    variables: { MARIADB_DATABASE: TEST_DB, MARIADB_ROOT_PASSWORD: 'root' },
    user: 'root',
    password: 'root',
    scheme: 'mysql',
    database: true,
    words: /MARIA|MYSQL/,
  },
  redis: {
    image: 'redis',
    versionKey: 'redis',
    alias: 'redis',
    port: 6379,
    variables: {},
    user: '',
    password: '',
    scheme: 'redis',
    database: false,
    words: /REDIS|CACHE|CELERY|BROKER|QUEUE/,
  },
  mongodb: {
    image: 'mongo',
    versionKey: 'mongo',
    alias: 'mongo',
    port: 27017,
    variables: {},
    user: '',
    password: '',
    scheme: 'mongodb',
    database: true,
    words: /MONGO/,
  },
  rabbitmq: {
    image: 'rabbitmq',
    versionKey: 'rabbitmq',
    alias: 'rabbitmq',
    port: 5672,
    variables: {},
    user: 'guest',
    password: 'guest',
    scheme: 'amqp',
    database: false,
    words: /RABBIT|AMQP/,
  },
  elasticsearch: {
    image: 'docker.elastic.co/elasticsearch/elasticsearch',
    versionKey: 'elasticsearch',
    alias: 'elasticsearch',
    port: 9200,
    variables: { ES_JAVA_OPTS: '-Xms512m -Xmx512m' },
    command: ['bin/elasticsearch', '-Ediscovery.type=single-node', '-Expack.security.enabled=false'],
    user: '',
    password: '',
    scheme: 'http',
    database: false,
    words: /ELASTIC|(^|_)ES_/,
  },
  opensearch: {
    image: 'opensearchproject/opensearch',
    versionKey: 'opensearch',
    alias: 'opensearch',
    port: 9200,
    variables: { DISABLE_SECURITY_PLUGIN: 'true', 'discovery.type': 'single-node' },
    user: '',
    password: '',
    scheme: 'http',
    database: false,
    words: /OPENSEARCH|SEARCH/,
  },
};

const IMAGE_KIND: Array<[RegExp, ServiceKind]> = [
  [/(^|\/)(postgres|postgis|timescaledb[\w-]*|pgvector)(:|$)/, 'postgres'],
  [/(^|\/)postgis\//, 'postgres'],
  [/(^|\/)mariadb(:|$)/, 'mariadb'],
  [/(^|\/)(mysql|mysql-server|percona)(:|$)/, 'mysql'],
  [/(^|\/)(redis|valkey|redis-stack[\w-]*)(:|$)/, 'redis'],
  [/(^|\/)mongo(db)?(:|$)/, 'mongodb'],
  [/(^|\/)rabbitmq(:|$)/, 'rabbitmq'],
  [/(^|\/)elasticsearch(:|$)/, 'elasticsearch'],
  [/(^|\/)opensearch(:|$)/, 'opensearch'],
];

/** `postgres:16-alpine` → postgres; `bitnami/redis:7` → redis; null for anything else. */
export function serviceKindOfImage(image: string): ServiceKind | null {
  const name = image.toLowerCase().split('@')[0];
  for (const [re, kind] of IMAGE_KIND) if (re.test(name)) return kind;
  return null;
}

/** The tag of an image reference when it starts with a version number (`16-alpine` → `16-alpine`), else null. */
export function versionOfImage(image: string): string | null {
  const tag = image.split('@')[0].split('/').pop()!.split(':')[1];
  return tag && /^\d/.test(tag) && !tag.includes('$') ? tag : null;
}

/** URL schemes naming a service: `postgresql+asyncpg://` → postgres. */
export function serviceKindOfUrl(url: string): ServiceKind | null {
  const scheme = url
    .trim()
    .toLowerCase()
    .match(/^([a-z0-9+]+):\/\//)?.[1];
  if (!scheme) return null;
  const base = scheme.split('+')[0];
  if (base === 'postgres' || base === 'postgresql' || base === 'pgsql') return 'postgres';
  if (base === 'mysql' || base === 'mysql2' || base === 'trilogy') return 'mysql';
  if (base === 'mariadb') return 'mariadb';
  if (base === 'redis' || base === 'rediss') return 'redis';
  if (base === 'mongodb') return 'mongodb';
  if (base === 'amqp' || base === 'amqps') return 'rabbitmq';
  return null;
}

/** One need per kind, the first source naming a version winning; MariaDB replaces MySQL when both are named. */
export function mergeNeeds(needs: ServiceNeed[]): ServiceNeed[] {
  const out = new Map<ServiceKind, ServiceNeed>();
  for (const n of needs) {
    const have = out.get(n.kind);
    if (!have) out.set(n.kind, { ...n });
    else if (!have.version && n.version) have.version = n.version;
  }
  if (out.has('mariadb')) out.delete('mysql');
  if (out.has('opensearch')) out.delete('elasticsearch');
  return [...out.values()];
}

export function serviceUrl(kind: ServiceKind, scheme?: string): string {
  const s = SERVICE_KINDS[kind];
  const auth = s.user ? `${s.user}${s.password ? `:${s.password}` : ''}@` : '';
  const path = s.database ? `/${TEST_DB}` : kind === 'redis' ? '/0' : '';
  return `${scheme ?? s.scheme}://${auth}${s.alias}:${s.port}${path}`;
}

export interface GitLabServices {
  services: Array<Record<string, unknown>>;
  /** job variables: the connection settings the project reads */
  variables: Record<string, string>;
}

/**
 * Services in GitLab form and the variables the application reads to reach them. `envNames` are
 * the environment variables the project's settings read (with an example value when known, whose
 * URL scheme is kept, e.g. `postgresql+asyncpg`); each gets the value pointing at the service.
 */
export function gitlabServices(needs: ServiceNeed[], envNames: Record<string, string> = {}): GitLabServices {
  const services: Array<Record<string, unknown>> = [];
  const variables: Record<string, string> = {};
  const kinds = needs.map((n) => n.kind);
  const primary = kinds.find((k) => SERVICE_KINDS[k].database && k !== 'mongodb') ?? kinds[0];
  for (const n of needs) {
    const s = SERVICE_KINDS[n.kind];
    const entry: Record<string, unknown> = {
      name: `${s.image}:${n.version ?? SERVICE_VERSIONS[s.versionKey]}`,
      alias: s.alias,
    };
    if (Object.keys(s.variables).length) entry.variables = { ...s.variables };
    if (s.command) entry.command = s.command;
    services.push(entry);
  }
  if (primary && SERVICE_KINDS[primary].database) variables.DATABASE_URL = serviceUrl(primary);
  if (kinds.includes('redis')) variables.REDIS_URL = serviceUrl('redis');
  if (kinds.includes('mongodb')) variables.MONGODB_URL = serviceUrl('mongodb');
  if (kinds.includes('rabbitmq')) variables.AMQP_URL = serviceUrl('rabbitmq');
  for (const k of ['elasticsearch', 'opensearch'] as const)
    if (kinds.includes(k)) variables[`${k.toUpperCase()}_URL`] = serviceUrl(k);

  for (const [name, example] of Object.entries(envNames)) {
    const upper = name.toUpperCase();
    const kind =
      serviceKindOfUrl(example) ??
      kinds.find((k) => k !== primary && SERVICE_KINDS[k].words.test(upper)) ??
      (kinds.find((k) => SERVICE_KINDS[k].words.test(upper)) || (/DB|DATABASE|SQL/.test(upper) ? primary : null));
    if (!kind || !kinds.includes(kind)) continue;
    const s = SERVICE_KINDS[kind];
    const value = serviceValue(upper, kind, example);
    if (value !== null) variables[name] = value;
    void s;
  }
  return { services, variables };
}

function serviceValue(name: string, kind: ServiceKind, example: string): string | null {
  const s = SERVICE_KINDS[kind];
  if (/URL|URI|DSN/.test(name)) {
    const scheme = example.match(/^([a-z0-9+]+):\/\//i)?.[1];
    return serviceUrl(kind, scheme && serviceKindOfUrl(example) === kind ? scheme : undefined);
  }
  if (/HOST|SERVER|ADDR/.test(name)) return s.alias;
  if (/PORT/.test(name)) return String(s.port);
  if (/PASSWORD|PASS$|PWD/.test(name)) return s.password || null;
  if (/USER/.test(name)) return s.user || null;
  if (/(NAME|_DB|DATABASE)$/.test(name) && s.database) return TEST_DB;
  return null;
}

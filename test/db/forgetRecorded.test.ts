import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetRecorded } from '../../src/db/forgetRecorded.js';
import type { Store } from '../../src/db/openDatabase.js';
import { getConfiguration, insertConfiguration, upsertProject, upsertRun } from '../../src/db/runs.js';
import { openTestStore, storeKinds } from '../support/db.js';

async function seed(store: Store, projectId: number, path: string, pipelineId: number, hash: string) {
  const tenant = path.split('/')[0]!.toLowerCase();
  await upsertProject(store.db, { projectId, pathWithNamespace: path, tenant, ciConfigPath: null });
  await insertConfiguration(store.db, {
    hash,
    content: 'test:\n  script: [true]\n',
    dockerfile: null,
    validYaml: true,
    yamlError: null,
    language: 'go',
    framework: 'generic',
    projectPath: path,
  });
  await upsertRun(store.db, {
    pipelineId,
    iid: 1,
    projectId,
    projectPath: path,
    tenant,
    sha: 'a'.repeat(40),
    ref: 'main',
    source: 'push',
    status: 'success',
    durationS: 10,
    queuedDurationS: 1,
    jobs: [],
    failedJobs: [],
    stagesCount: 1,
    configHash: hash,
    configPath: '.gitlab-ci.yml',
    language: 'go',
    framework: 'generic',
    finishedAt: new Date(),
  });
  await store.db
    .insertInto('webhook_deliveries')
    .values({ dedupe_key: `d-${pipelineId}`, event: 'Pipeline Hook', project_id: projectId, payload: { any: 1 } })
    .execute();
}

describe.each(storeKinds)('forgetting recorded data (%s)', (kind) => {
  let store: Store | null = null;
  beforeAll(async () => {
    store = await openTestStore(kind);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('removes a tenant (any case, sub-groups included) and leaves other tenants and shared configurations', async () => {
    if (!store) return;
    const shared = 's'.repeat(64);
    await seed(store, 1, 'Acme/team/app', 101, 'a'.repeat(64));
    await seed(store, 2, 'acme/lib', 102, shared);
    await seed(store, 3, 'acmeco/app', 103, 'c'.repeat(64));
    await seed(store, 4, 'other/app', 104, shared);

    const counts = await forgetRecorded(store.db, { tenant: 'ACME' });
    expect(counts).toEqual({ runs: 2, deliveries: 2, configurations: 1, proposals: 0 });

    const runs = await store.db.selectFrom('pipeline_runs').select('project_path').orderBy('project_path').execute();
    expect(runs.map((r) => r.project_path)).toEqual(['acmeco/app', 'other/app']);
    const projects = await store.db.selectFrom('projects').select('project_id').orderBy('project_id').execute();
    expect(projects.map((p) => Number(p.project_id))).toEqual([3, 4]);
    expect(await getConfiguration(store.db, 'a'.repeat(64))).toBeUndefined();
    expect(await getConfiguration(store.db, shared)).toBeDefined();
    const deliveries = await store.db.selectFrom('webhook_deliveries').select('project_id').execute();
    expect(deliveries.map((d) => Number(d.project_id)).sort()).toEqual([3, 4]);
  });

  it('removes one project only', async () => {
    if (!store) return;
    const counts = await forgetRecorded(store.db, { projectPath: 'acmeco/app' });
    expect(counts.runs).toBe(1);
    const runs = await store.db.selectFrom('pipeline_runs').select('project_path').execute();
    expect(runs.map((r) => r.project_path)).toEqual(['other/app']);
  });
});

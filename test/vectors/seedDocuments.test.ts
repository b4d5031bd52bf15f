import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMBEDDING_DIMENSION } from '../../src/vectors/embed.js';
import {
  buildFeedbackRecord,
  buildSuccessRecord,
  buildTemplateRecord,
  extractConfigFromDocument,
  extractDockerfileFromDocument,
  formatSuccessDocument,
  type SuccessEvidence,
  successDocumentId,
  templateDocumentId,
} from '../../src/vectors/seedDocuments.js';

const config = `stages:
  - compile
  - learn

compile:
  stage: compile
  script:
    - go build ./...
`;
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not ours
const dockerfile = 'ARG BASE_REGISTRY=ai-nexus:5001\nFROM ${BASE_REGISTRY}/apm-repo/demo/golang:1.21-alpine\n';
const hash = '617d9411be45aa00112233445566778899aabbccddeeff00112233445566778a';

const evidence = (over: Partial<SuccessEvidence> = {}): SuccessEvidence => ({
  tenant: 'acme',
  project: 'acme/team/app',
  language: 'go',
  framework: 'generic',
  pipelineId: 215,
  duration: 139.4,
  passed: ['learn_record', 'compile'],
  config,
  dockerfile,
  configHash: hash,
  finishedAt: '2026-02-03T08:04:50.209Z',
  ...over,
});

describe('successful_pipelines documents', () => {
  it("writes the seed's document layout", () => {
    const doc = formatSuccessDocument({
      language: 'go',
      framework: 'generic',
      pipelineId: 215,
      duration: 139,
      passed: ['learn_record', 'notify_success', 'compile'],
      config,
      dockerfile,
    });
    expect(doc).toBe(
      '## Successful Pipeline Configuration\nLanguage: go\nFramework: generic\nPipeline ID: 215\nDuration: 139 seconds\n' +
        'Stages Passed: learn_record, notify_success, compile\n\n' +
        `### .gitlab-ci.yml\n\`\`\`yaml\n${config}\`\`\`\n\n### Dockerfile\n\`\`\`dockerfile\n${dockerfile}\`\`\``,
    );
    expect(extractConfigFromDocument(doc)).toBe(config);
    expect(extractDockerfileFromDocument(doc)).toBe(dockerfile);
  });

  it('extracts from documents without a Dockerfile, with CRLF, and from the seed sample', () => {
    const noDocker = formatSuccessDocument({
      language: 'go',
      framework: 'gin',
      pipelineId: 1,
      duration: 1,
      passed: [],
      config,
    });
    expect(extractConfigFromDocument(noDocker)).toBe(config);
    expect(extractDockerfileFromDocument(noDocker)).toBeNull();
    expect(extractConfigFromDocument(noDocker.replace(/\n/g, '\r\n'))).toBe(config);
    const seed =
      '## Successful Pipeline Configuration\nLanguage: go\nFramework: generic\nPipeline ID: 215\nDuration: 139 seconds\nStages Passed: compile\n\n### .gitlab-ci.yml\n```yaml\nstages:\n  - compile\n```\n\n### Dockerfile\n```dockerfile\nFROM golang\n```';
    expect(extractConfigFromDocument(seed)).toBe('stages:\n  - compile\n');
    expect(extractDockerfileFromDocument(seed)).toBe('FROM golang\n');
    expect(extractConfigFromDocument('no config here')).toBeNull();
  });

  it('round-trips any configuration, fences inside it included', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string({ minLength: 1 }), { nil: undefined }), (raw, df) => {
        const cfg = `${raw.replace(/\r/g, '')}\nscript: |\n  echo '\`\`\`'\n`;
        const doc = formatSuccessDocument({
          language: 'go',
          framework: 'gin',
          pipelineId: 1,
          duration: 1,
          passed: [],
          config: cfg,
          dockerfile: df,
        });
        const expected = cfg.replace(/\n+$/, '\n');
        expect(extractConfigFromDocument(doc)?.replace(/\n+$/, '\n')).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('names records success_<language>_<framework>_<hash12>', () => {
    expect(successDocumentId('go', 'generic', hash)).toBe('success_go_generic_617d9411be45');
    expect(successDocumentId('Go', 'Spring Boot', hash.slice(0, 12))).toBe('success_go_spring-boot_617d9411be45');
    expect(() => successDocumentId('go', 'gin', 'not-a-hash')).toThrow();
  });

  it("carries the seed's metadata plus tenant, project, hash and run counts", () => {
    const r = buildSuccessRecord(evidence(), null);
    expect(r.id).toBe('success_go_generic_617d9411be45');
    expect(r.metadata).toMatchObject({
      language: 'go',
      framework: 'generic',
      pipeline_id: '215',
      duration: 139,
      stages_count: 2,
      timestamp: '2026-02-03T08:04:50.209Z',
      tenant: 'acme',
      project: 'acme/team/app',
      config_hash: '617d9411be45',
      run_count: 1,
      latest_pipeline_id: '215',
    });
    expect(r.embedding).toHaveLength(EMBEDDING_DIMENSION);
    expect(extractConfigFromDocument(r.document)).toBe(config);
    for (const v of Object.values(r.metadata)) expect(['string', 'number', 'boolean']).toContain(typeof v);
  });

  it('updates on a later success, ignores a repeated delivery, and lets a late older run count without taking over', () => {
    const first = buildSuccessRecord(evidence(), null);
    const again = buildSuccessRecord(evidence(), first);
    expect(again.metadata.run_count).toBe(1);

    const later = buildSuccessRecord(
      evidence({
        pipelineId: 300,
        duration: 100,
        passed: ['a', 'b', 'c'],
        finishedAt: '2026-02-04T00:00:00Z',
        project: 'acme/other',
      }),
      again,
    );
    expect(later.id).toBe(first.id);
    expect(later.metadata).toMatchObject({
      pipeline_id: '215',
      latest_pipeline_id: '300',
      run_count: 2,
      duration: 100,
      stages_count: 3,
      project: 'acme/other',
      timestamp: '2026-02-04T00:00:00.000Z',
      first_timestamp: '2026-02-03T08:04:50.209Z',
    });
    expect(later.document).toContain('Pipeline ID: 215\nDuration: 100 seconds\nStages Passed: a, b, c\n');

    const older = buildSuccessRecord(
      evidence({ pipelineId: 100, duration: 999, finishedAt: '2026-01-01T00:00:00Z' }),
      later,
    );
    expect(older.metadata).toMatchObject({
      pipeline_id: '100',
      latest_pipeline_id: '300',
      run_count: 3,
      duration: 100,
      stages_count: 3,
      first_timestamp: '2026-01-01T00:00:00.000Z',
    });
    expect(older.document).toContain('Stages Passed: a, b, c\n');

    expect(buildSuccessRecord(evidence({ runCount: 7 }), later).metadata.run_count).toBe(7);
  });
});

describe('pipeline_feedback documents', () => {
  it('keeps the failed jobs with their stage and reason', () => {
    const r = buildFeedbackRecord({
      tenant: 'acme',
      project: 'acme/app',
      language: 'go',
      framework: 'gin',
      pipelineId: 216,
      status: 'failed',
      duration: 88,
      configHash: hash,
      config,
      failedJobs: [
        { name: 'test', stage: 'test', failureReason: 'script_failure' },
        { name: 'lint', stage: 'test', failureReason: 'script_failure', allowFailure: true },
        { name: 'deploy', stage: 'deploy', failureReason: null },
      ],
      finishedAt: new Date('2026-02-03T09:00:00Z'),
    });
    expect(r.id).toBe('failure_go_gin_617d9411be45_216');
    expect(r.metadata).toMatchObject({
      feedback_type: 'failure',
      pipeline_id: '216',
      status: 'failed',
      failed_jobs_count: 2,
      failed_jobs: 'test,lint,deploy',
      failed_stages: 'test,deploy',
      failure_reasons: 'script_failure,unknown_failure',
      tenant: 'acme',
      config_hash: '617d9411be45',
      timestamp: '2026-02-03T09:00:00.000Z',
    });
    expect(r.document).toContain('## Failed Pipeline Configuration\n');
    expect(r.document).toContain('Status: failed\n');
    expect(r.document).toContain('- test (stage: test): script_failure\n');
    expect(r.document).toContain('- lint (stage: test, allowed to fail): script_failure\n');
    expect(r.document).toContain('- deploy (stage: deploy): unknown_failure\n');
    expect(extractConfigFromDocument(r.document)).toBe(config);
  });

  it('records a canceled pipeline with no failed job', () => {
    const r = buildFeedbackRecord({
      tenant: 'acme',
      project: 'acme/app',
      language: 'node',
      framework: 'express',
      pipelineId: '9',
      status: 'canceled',
      duration: 3,
      configHash: hash,
      config,
      failedJobs: [],
      finishedAt: '2026-02-03T09:00:00Z',
    });
    expect(r.metadata).toMatchObject({
      status: 'canceled',
      failed_jobs_count: 0,
      failed_jobs: '',
      failure_reasons: '',
    });
    expect(r.document).toContain('the pipeline was stopped');
  });
});

describe('pipeline_templates records', () => {
  it('names them template_<language>_<framework>_<name> with their source', () => {
    expect(templateDocumentId('python', 'fastapi', 'Default')).toBe('template_python_fastapi_default');
    const r = buildTemplateRecord({
      language: 'python',
      framework: 'fastapi',
      name: 'default',
      source: 'builtin',
      config,
    });
    expect(r.id).toBe('template_python_fastapi_default');
    expect(r.metadata).toMatchObject({ language: 'python', framework: 'fastapi', name: 'default', source: 'builtin' });
    expect(extractConfigFromDocument(r.document)).toBe(config);
    expect(r.embedding).toHaveLength(EMBEDDING_DIMENSION);
  });
});

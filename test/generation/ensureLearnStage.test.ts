import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureLearnStage, LEARN_JOB, type LearnStageOptions } from '../../src/generation/ensureLearnStage.js';
import { CI_CUSTOM_TAGS, parseCiYaml, YamlSyntaxError } from '../../src/generation/parseCiYaml.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';

const CORPUS = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');
const index: Array<{ file: string; yaml_npm_parse_ok: boolean }> = readFileSync(join(CORPUS, 'index.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

const inline: LearnStageOptions = { component: null, serviceUrl: 'https://learner.example.com' };
const component: LearnStageOptions = {
  component: '$CI_SERVER_FQDN/devops/pipeline-learner/learn@1.0.0',
  serviceUrl: 'https://learner.example.com',
};

type Js = Record<string, unknown>;
const toJs = (text: string): Js => {
  const docs = parseCiYaml(text);
  return (docs[docs.length - 1].toJS({ maxAliasCount: -1 }) ?? {}) as Js;
};
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

describe('ensureLearnStage on the real-world corpus', () => {
  const valid = index.filter((e) => e.yaml_npm_parse_ok);
  const invalid = index.filter((e) => !e.yaml_npm_parse_ok);

  it('has both parseable and broken files', () => {
    expect(valid.length).toBeGreaterThan(30);
    expect(invalid.length).toBeGreaterThan(0);
  });

  for (const options of [inline, component]) {
    const mode = options.component ? 'component' : 'inline job';
    it(`keeps every job and adds exactly the learn stage (${mode})`, () => {
      for (const { file } of valid) {
        const before = readFileSync(join(CORPUS, file), 'utf8');
        const after = ensureLearnStage(before, options);
        const a = toJs(before);
        const b = toJs(after);
        for (const [key, value] of Object.entries(a)) {
          if (key === 'stages' || key === 'include') continue;
          expect(b[key], `${file}: ${key}`).toEqual(value);
        }
        const added = Object.keys(b).filter((k) => !(k in a));
        if (options.component) {
          expect(
            added.filter((k) => k !== 'include'),
            file,
          ).toEqual([]);
          const inc = asList(b.include);
          expect(inc.slice(0, asList(a.include).length), file).toEqual(asList(a.include));
          const last = inc[inc.length - 1] as Js;
          expect(last.component).toBe(options.component);
          expect((last.inputs as Js).service_url).toBe(options.serviceUrl);
        } else {
          expect(added, file).toEqual([LEARN_JOB]);
          const job = b[LEARN_JOB] as Js;
          expect((job.variables as Js).PIPELINE_LEARNER_URL).toBe(options.serviceUrl);
          expect(String(job.script)).toContain('/api/v1/pipeline/learn/record');
        }
        const stageUsed = options.component
          ? ((asList(b.include).at(-1) as Js).inputs as Js).stage
          : (b[LEARN_JOB] as Js).stage;
        if (Array.isArray(a.stages)) {
          expect(b.stages, file).toEqual([...a.stages, ...(a.stages.includes('learn') ? [] : ['learn'])]);
          expect(stageUsed).toBe('learn');
        } else {
          expect(b.stages, file).toEqual(a.stages);
          expect(stageUsed).toBe('.post');
        }
        expect(ensureLearnStage(after, options), `${file}: second pass`).toBe(after);
      }
    });
  }

  it('the result passes our validation (real files as learned candidates must not be rejected)', () => {
    for (const { file } of valid) {
      const after = ensureLearnStage(readFileSync(join(CORPUS, file), 'utf8'), inline);
      expect(validatePipeline(after).errors, file).toEqual([]);
    }
  });

  it('keeps comments, anchors, aliases and !reference tags in the text', () => {
    for (const { file } of valid) {
      const before = readFileSync(join(CORPUS, file), 'utf8');
      const after = ensureLearnStage(before, inline);
      const anchors = before.match(/&[A-Za-z_][\w-]*/g) ?? [];
      for (const anchor of anchors) expect(after, `${file} ${anchor}`).toContain(anchor);
      expect((after.match(/!reference/g) ?? []).length, file).toBe((before.match(/!reference/g) ?? []).length);
      const comments = before
        .split('\n')
        .filter((l) => /^\s*#/.test(l))
        .map((l) => l.trim());
      for (const c of comments) expect(after, `${file}: ${c}`).toContain(c);
    }
  });

  it('keeps the order of top-level keys', () => {
    for (const { file } of valid) {
      const before = readFileSync(join(CORPUS, file), 'utf8');
      const keysBefore = Object.keys(toJs(before));
      const keysAfter = Object.keys(toJs(ensureLearnStage(before, inline)));
      expect(keysAfter.slice(0, keysBefore.length), file).toEqual(keysBefore);
    }
  });

  it('names line and column for the broken files', () => {
    for (const { file } of invalid) {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      let caught: unknown;
      try {
        ensureLearnStage(text, inline);
      } catch (err) {
        caught = err;
      }
      expect(caught, file).toBeInstanceOf(YamlSyntaxError);
      const e = caught as YamlSyntaxError;
      expect(e.line).toBeGreaterThan(0);
      expect(e.col).toBeGreaterThan(0);
      expect(e.line).toBeLessThanOrEqual(text.split('\n').length);
      expect(e.message).toMatch(/^line \d+, column \d+: /);
    }
  });
});

describe('ensureLearnStage', () => {
  it('uses .post when the file has no stages list', () => {
    const out = ensureLearnStage('test:\n  script: [make test]\n', inline);
    expect((parse(out) as Js)[LEARN_JOB]).toMatchObject({ stage: '.post', allow_failure: true });
    expect(validatePipeline(out).ok).toBe(true);
  });

  it('appends learn to explicit stages once', () => {
    const out = ensureLearnStage('stages: [build, test]\nb:\n  stage: build\n  script: [make]\n', inline);
    expect((parse(out) as Js).stages).toEqual(['build', 'test', 'learn']);
    expect(validatePipeline(out).ok).toBe(true);
  });

  it('turns a single include into a list and adds the component with inputs', () => {
    const out = ensureLearnStage("include: 'ci/common.yml'\nstages: [test]\n", {
      ...component,
      jobPrefix: 'x-',
      allowFailure: false,
    });
    expect((parse(out) as Js).include).toEqual([
      'ci/common.yml',
      {
        component: component.component,
        inputs: { stage: 'learn', service_url: component.serviceUrl, job_prefix: 'x-', allow_failure: false },
      },
    ]);
  });

  it('without a service URL the job reads PIPELINE_LEARNER_URL at run time and records nothing when unset', () => {
    const out = ensureLearnStage('t:\n  script: [x]\n', { component: null, serviceUrl: null });
    const job = (parse(out) as Js)[LEARN_JOB] as Js;
    expect(job.variables).toBeUndefined();
    expect((job.script as string[])[0]).toContain('$PIPELINE_LEARNER_URL');
  });

  it('recognises an existing learn component under another version', () => {
    const text = 'include:\n  - component: gitlab.example.com/tools/pipeline-learner/learn@0.9.0\nt:\n  script: [x]\n';
    expect(ensureLearnStage(text, component)).toBe(text);
    expect(ensureLearnStage(text, inline)).toBe(text);
  });

  it('keeps a spec header document and edits the pipeline document', () => {
    const text =
      'spec:\n  inputs:\n    env:\n      default: dev\n---\n# jobs\nt:\n  script:\n    - echo $[[ inputs.env ]]\n';
    const out = ensureLearnStage(text, inline);
    expect(out.startsWith('spec:\n  inputs:\n')).toBe(true);
    expect(out).toContain('# jobs');
    expect(out).toContain(`${LEARN_JOB}:`);
  });

  it('handles an empty file and rejects a non-mapping', () => {
    expect((parse(ensureLearnStage('', inline)) as Js)[LEARN_JOB]).toBeDefined();
    expect(() => ensureLearnStage('- a\n- b\n', inline)).toThrow(/mapping/);
  });

  it('reports duplicate keys with their position', () => {
    try {
      ensureLearnStage('a:\n  script: [x]\nb: 1\na: 2\n', inline);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(YamlSyntaxError);
      expect((err as YamlSyntaxError).line).toBe(4);
    }
  });

  it('round-trips !reference tags as tags', () => {
    const text = '.base:\n  script: [a]\nt:\n  script:\n    - !reference [.base, script]\n';
    const out = ensureLearnStage(text, inline);
    expect(out).toContain('!reference [.base, script]');
    expect(parseCiYaml(out)[0].errors).toEqual([]);
    expect(CI_CUSTOM_TAGS.length).toBe(1);
  });
});

describe('templates/learn.yml', () => {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'templates', 'learn.yml'), 'utf8');
  it('declares the inputs and runs the same recording script as the inline job', async () => {
    const { learnScript } = await import('../../src/generation/ensureLearnStage.js');
    const [header, body] = parseCiYaml(text).map((d) => d.toJS() as Js);
    const inputs = (header.spec as Js).inputs as Record<string, Js>;
    expect(Object.keys(inputs).sort()).toEqual(['allow_failure', 'job_prefix', 'service_url', 'stage']);
    expect(inputs.stage.default).toBe('learn');
    expect(inputs.allow_failure).toMatchObject({ type: 'boolean', default: true });
    const job = body['$[[ inputs.job_prefix ]]learn_record'] as Js;
    expect(job.script).toEqual(learnScript('$[[ inputs.service_url ]]'));
    expect(JSON.stringify(job.image)).not.toMatch(/latest/);
  });
});

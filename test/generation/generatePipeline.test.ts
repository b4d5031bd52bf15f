import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { TemplateRecord } from '../../src/generation/builtInTemplates.js';
import { builtInTemplates } from '../../src/generation/builtInTemplates.js';
import { LEARN_JOB } from '../../src/generation/ensureLearnStage.js';
import {
  type GenerateDeps,
  generatePipeline,
  type LearnedSource,
  sha256,
  type TemplateSource,
  toGenerationJson,
} from '../../src/generation/generatePipeline.js';
import { parseTemplateFile } from '../../src/generation/parseTemplateFile.js';
import { seedRuleChooser } from '../../src/generation/seedRuleChooser.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';
import type { ArmCandidate, Chooser } from '../../src/learning/Chooser.js';
import { EXPECTED, fixtureReader } from './support.js';

const learnStage = { component: null, serviceUrl: 'https://learner.example.com' };
const base: GenerateDeps = { chooser: seedRuleChooser, learnStage };

function learnedArm(config: string, stagesCount: number, lastDurationS: number): ArmCandidate {
  return {
    hash: sha256(config),
    source: 'learned',
    config,
    label: `learned ${stagesCount}/${lastDurationS}`,
    stagesCount,
    lastDurationS,
  };
}

function templates(list: TemplateRecord[]): TemplateSource {
  return {
    async templates(language, framework) {
      return list.filter((t) => t.language === language && (framework === null || t.framework === framework));
    },
  };
}

const userTemplate = (framework: string, body = 'custom:\n  script: [make ci]\n'): TemplateRecord => ({
  id: `user:go-${framework}`,
  language: 'go',
  framework,
  config: body,
  dockerfile: null,
  description: 'mine',
  builtin: false,
});

describe('generatePipeline', () => {
  it('produces a valid pipeline with the learn stage for every fixture', async () => {
    for (const name of Object.keys(EXPECTED)) {
      if (name === 'unknown') {
        // no stack and no tests: no proposal (honest tests)
        await expect(generatePipeline({ reader: fixtureReader(name), tenant: 'local' }, base)).rejects.toThrow(
          /No proposal/,
        );
        continue;
      }
      const exp = EXPECTED[name];
      const g = await generatePipeline({ reader: fixtureReader(name), tenant: 'local' }, base);
      expect(g.source, name).toBe(exp.source ?? 'default');
      expect(validatePipeline(g.config), name).toEqual({ ok: true, errors: [], warnings: [] });
      const doc = parse(g.config) as Record<string, Record<string, unknown>>;
      expect(doc[LEARN_JOB], name).toBeDefined();
      expect(g.config, name).not.toMatch(/:latest\b/);
      expect(doc.workflow, name).toBeDefined();
      expect(g.hash).toBe(sha256(g.config));
      expect(g.confidence).toBeGreaterThan(0);
      expect(g.confidence).toBeLessThanOrEqual(1);
      if (exp.services) {
        const testJob = Object.entries(doc).find(([n, j]) => !n.startsWith('.') && j?.stage === 'test')?.[1];
        const images = ((testJob?.services ?? []) as Array<{ name: string }>).map((s) => s.name);
        expect(images.length, name).toBe(exp.services.length);
        exp.services.forEach((want, i) => {
          if (want.includes(':')) expect(images[i], name).toBe(want);
          else expect(images[i], name).toMatch(new RegExp(`^${want}:`));
        });
      } else if (exp.language !== 'unknown') {
        // no evidence of a service: no test job starts one
        for (const [n, j] of Object.entries(doc))
          if (j?.stage === 'test') expect(j.services, `${name} ${n}`).toBeUndefined();
      }
      if (exp.dockerfile_proposed) expect(g.dockerfile, name).toMatch(/^# Proposed by pipeline-learner/);
      if (exp.dockerfile) expect(g.dockerfile, name).toBeNull();
      if (g.dockerfile) expect(g.config).toMatch(/buildah build/);
      for (const [tool, v] of Object.entries(exp.versions ?? {})) {
        if (['go', 'node', 'python', 'rust', 'ruby', 'php'].includes(tool))
          expect(g.config, `${name} ${tool}`).toContain(`:${v}`);
      }
    }
  });

  it('pins images, keys caches on the lockfile, and expires artifacts', async () => {
    const g = await generatePipeline({ reader: fixtureReader('node-express'), tenant: 'local' }, base);
    const doc = parse(g.config) as Record<string, Record<string, unknown>>;
    // .nvmrc "20" is an exact pin, kept
    expect(doc['.node'].image).toBe('node:20');
    expect(doc['.node'].cache).toEqual({ key: { files: ['package-lock.json'] }, paths: ['.npm/'] });
    expect(doc['node-test'].script).toEqual([
      'npm test -- --test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination=report.xml',
    ]);
    expect(doc['node-test'].artifacts).toMatchObject({ reports: { junit: 'report.xml' } });
    expect(doc['.node'].interruptible).toBe(true);
    const py = parse(
      (await generatePipeline({ reader: fixtureReader('python-fastapi'), tenant: 'local' }, base)).config,
    );
    // pytest is declared but there is no test file: no test job at all
    expect(py['python-test']).toBeUndefined();
    expect(py['.python'].cache.key.files).toEqual(['poetry.lock']);
  });

  it('follows the seed priority: learned (most stages, then fastest) before templates before the default', async () => {
    const slow = learnedArm('a:\n  script: [slow]\n', 5, 300);
    const fast = learnedArm('b:\n  script: [fast]\n', 5, 100);
    const fewer = learnedArm('c:\n  script: [few]\n', 3, 10);
    const learned: LearnedSource = { learned: async () => [slow, fewer, fast] };
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'acme' },
      { ...base, learned, templates: templates([userTemplate('generic')]) },
    );
    expect(g.source).toBe('reinforcement_learning');
    expect(g.config).toContain('fast');
    expect(g.candidatesTried.map((t) => t.source)).toEqual(['learned', 'learned', 'learned', 'template', 'default']);

    const t = await generatePipeline(
      { reader: fixtureReader('go-gin'), tenant: 'acme' },
      {
        ...base,
        templates: templates([
          userTemplate('generic', 'lang:\n  script: [lang]\n'),
          userTemplate('gin', 'exact:\n  script: [exact]\n'),
        ]),
      },
    );
    expect(t.source).toBe('template');
    expect(t.config).toContain('exact');
    expect(t.candidatesTried.map((c) => c.label)).toEqual([
      'template user:go-gin',
      'template user:go-generic',
      'built-in default go-gin',
    ]);
  });

  it('never proposes a candidate that fails validation', async () => {
    const broken = learnedArm('a:\n  stage: nope\n  script: [x]\nstages: [test]\n', 9, 1);
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'acme' },
      {
        ...base,
        learned: { learned: async () => [broken] },
        templates: templates([userTemplate('generic', 'j:\n  needs: [ghost]\n  script: [x]\n')]),
      },
    );
    expect(g.source).toBe('default');
    expect(g.candidatesTried.filter((c) => !c.ok).map((c) => c.errors[0])).toEqual([
      'job a: stage nope is not in stages (.pre, test, learn, .post)',
      'job j: needs ghost, which is not defined',
    ]);
  });

  it('moves on when GitLab lint rejects the chosen candidate', async () => {
    const learned = learnedArm('a:\n  script: [x]\n', 3, 10);
    const linted: string[] = [];
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'acme' },
      {
        ...base,
        learned: { learned: async () => [learned] },
        lint: async (yaml) => {
          linted.push(yaml);
          return yaml.includes('script: [x]')
            ? { valid: false, errors: ['jobs:a config contains unknown keys'], warnings: [] }
            : { valid: true, errors: [], warnings: ['w'] };
        },
      },
    );
    expect(linted).toHaveLength(2);
    expect(g.source).toBe('default');
    expect(g.lint).toEqual({ valid: true, errors: [], warnings: ['w'] });
    expect(g.candidatesTried[0]).toMatchObject({
      ok: false,
      errors: ['GitLab lint: jobs:a config contains unknown keys'],
    });
  });

  it('re-composes seeded built-in templates from the repository facts instead of copying them', async () => {
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'acme' },
      { ...base, templates: templates(builtInTemplates()) },
    );
    expect(g.source).toBe('default');
    // go.mod's `go 1.22` is a minimum: the newest supported release at least six months old
    expect(g.config).toContain('golang:1.26');
  });

  it('hands the chooser every valid arm in priority order and reports its confidence', async () => {
    let seen: ArmCandidate[] = [];
    const chooser: Chooser = {
      async choose(_ctx, arms) {
        seen = arms;
        return {
          arm: arms[arms.length - 1],
          decisionId: 'd-1',
          policy: 'thompson',
          kind: 'explore',
          probability: 0.2,
          confidence: { mean: 0.42, low: 0.1, high: 0.8, runs: 3 },
        };
      },
    };
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'acme' },
      { ...base, chooser, learned: { learned: async () => [learnedArm('a:\n  script: [x]\n', 3, 10)] } },
    );
    expect(seen.map((a) => a.source)).toEqual(['learned', 'default']);
    expect(g.decisionId).toBe('d-1');
    expect(g.confidence).toBe(0.42);
    expect(Object.keys(toGenerationJson(g)).sort()).toEqual([
      'confidence',
      'config',
      'evidence',
      'framework',
      'language',
      'source',
      'tests',
      'versions',
    ]);
  });

  it('applies language and framework overrides with evidence', async () => {
    const g = await generatePipeline(
      { reader: fixtureReader('unknown'), tenant: 'local', overrides: { language: 'Python', framework: 'flask' } },
      base,
    );
    expect([g.language, g.framework]).toEqual(['python', 'flask']);
    expect(g.evidence.at(-1)?.file).toBe('(override)');
    expect(g.config).toContain('python:3.14-slim');
  });

  it('uses the learn component when one is configured', async () => {
    const g = await generatePipeline(
      { reader: fixtureReader('go-generic'), tenant: 'local' },
      {
        ...base,
        learnStage: { component: 'gitlab.example.com/devops/pipeline-learner/learn@1.0.0', serviceUrl: null },
      },
    );
    expect(parse(g.config).include).toEqual([
      { component: 'gitlab.example.com/devops/pipeline-learner/learn@1.0.0', inputs: { stage: 'learn' } },
    ]);
  });
});

describe('parseTemplateFile', () => {
  it('reads metadata from the header comment, else from the file name', () => {
    const t = parseTemplateFile(
      'x.yml',
      '# pipeline-learner: language=python framework=django description="Ours"\nt:\n  script: [x]\n',
    );
    expect(t).toMatchObject({ language: 'python', framework: 'django', description: 'Ours', builtin: false });
    expect(parseTemplateFile('dir/java-spring-boot.yml', 't:\n  script: [x]\n')).toMatchObject({
      language: 'java',
      framework: 'spring-boot',
    });
    expect(parseTemplateFile('go.gitlab-ci.yml', 't:\n  script: [x]\n')).toMatchObject({
      language: 'go',
      framework: 'generic',
    });
  });
  it('refuses invalid pipelines', () => {
    expect(() => parseTemplateFile('go.yml', 't:\n  stage: nope\n  script: [x]\n')).toThrow(/not a valid pipeline/);
    expect(() => parseTemplateFile('go.yml', 't: [\n')).toThrow(/line \d+, column \d+/);
  });
});

describe('validatePipeline', () => {
  it('checks stages, needs, extends and bodies', () => {
    expect(validatePipeline('a:\n  image: x\n').errors).toEqual(['job a: needs a script, trigger or extends']);
    expect(validatePipeline('.b:\n  script: [x]\na:\n  extends: .b\n').ok).toBe(true);
    expect(validatePipeline('a:\n  extends: .c\n').errors).toEqual([
      'job a: extends .c, which is not defined in this file',
    ]);
    expect(validatePipeline('include: x.yml\na:\n  extends: .c\n')).toMatchObject({
      ok: true,
      warnings: ['job a: extends .c, which is not defined in this file'],
    });
    expect(validatePipeline('a:\n  script: [x]\n  needs: [{job: b, optional: true}]\n').ok).toBe(true);
    expect(validatePipeline('a: 1\n').ok).toBe(false);
    expect(validatePipeline('x: [\n').errors[0]).toMatch(/^line \d+, column \d+/);
  });
});

describe('monorepo without a root manifest', () => {
  it('composes each part under its directory', async () => {
    const g = await generatePipeline({ reader: fixtureReader('monorepo'), tenant: 'local' }, base);
    const doc = parse(g.config) as Record<string, Record<string, unknown>>;
    expect(doc['.backend:go'].before_script).toEqual(['cd backend']);
    expect(doc['backend:go-test'].artifacts).toMatchObject({ paths: ['backend/coverage.out'] });
    expect(doc['.web:node'].before_script).toEqual(['cd web']);
    expect((doc['web:node-test'].script as string[])[0]).toMatch(/^npm test -- --test-reporter=spec/);
    expect(validatePipeline(g.config).ok).toBe(true);
  });
});

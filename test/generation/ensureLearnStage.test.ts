import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { UserFacingError } from '../../src/errors.js';
import { ensureLearnStage, LEARN_JOB, type LearnStageOptions } from '../../src/generation/ensureLearnStage.js';
import { CI_CUSTOM_TAGS, parseCiYaml, YamlSyntaxError } from '../../src/generation/parseCiYaml.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';
import { loadCorpus } from '../support/corpus.js';

const corpus = loadCorpus('ensureLearnStage corpus tests');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'learn-stage');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

const inline: LearnStageOptions = { component: null, serviceUrl: 'https://learner.example.com' };
const component: LearnStageOptions = {
  component: '$CI_SERVER_FQDN/devops/pipeline-learner/learn@1.0.0',
  serviceUrl: 'https://learner.example.com',
};

type Js = Record<string, unknown>;
const toJs = (text: string): Js => {
  const docs = parseCiYaml(text);
  return (docs[docs.length - 1]?.toJS({ maxAliasCount: -1 }) ?? {}) as Js;
};
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Whether every character of `small` appears in `big`, in order (the edit only inserts). */
function isSubsequence(small: string, big: string): boolean {
  let i = 0;
  for (let j = 0; j < big.length && i < small.length; j++) if (small[i] === big[j]) i++;
  return i === small.length;
}

/**
 * The pinned check: the original bytes are an in-order subsequence of the output's, and the output
 * minus the learn additions parses to the original document. A single `include:` (string or map)
 * has to become a list to take a second entry, so it is compared as that one-item list.
 */
function expectMinimalEdit(before: string, after: string, options: LearnStageOptions, label: string): void {
  expect(isSubsequence(before, after), `${label}: original bytes kept in order`).toBe(true);
  const a = toJs(before);
  const b = toJs(after);
  const stage = Array.isArray(a.stages) ? (options.stage ?? 'learn') : '.post';
  if (Array.isArray(a.stages) && !a.stages.includes(stage)) {
    expect((b.stages as unknown[]).at(-1), label).toBe(stage);
    b.stages = (b.stages as unknown[]).slice(0, -1);
  }
  const jobName = `${options.jobPrefix ?? ''}${LEARN_JOB}`;
  if (options.component) {
    const inc = asList(b.include);
    const inputs = (inc.at(-1) as Js).inputs as Js;
    expect((inc.at(-1) as Js).component, label).toBe(options.component);
    expect(inputs.stage, label).toBe(stage);
    if (options.serviceUrl) expect(inputs.service_url, label).toBe(options.serviceUrl);
    const rest = inc.slice(0, -1);
    if (Array.isArray(a.include)) b.include = rest;
    else {
      expect(rest, label).toEqual(asList(a.include));
      if (a.include === undefined) delete b.include;
      else b.include = a.include;
    }
    expect(b[jobName], label).toBeUndefined();
  } else {
    const job = b[jobName] as Js;
    expect(job, label).toMatchObject({ stage, allow_failure: options.allowFailure ?? true });
    expect(String(job.script), label).toContain('/api/v1/pipeline/learn/record');
    if (options.serviceUrl) expect((job.variables as Js).PIPELINE_LEARNER_URL, label).toBe(options.serviceUrl);
    delete b[jobName];
  }
  expect(b, `${label}: the rest of the document is unchanged`).toEqual(a);
  expect(ensureLearnStage(after, options), `${label}: a second pass is byte-identical`).toBe(after);
}

/** Lines added and removed, as a line diff counts them (longest common subsequence of lines). */
function lineDiff(before: string, after: string): { added: number; removed: number } {
  const a = before.split('\n');
  const b = after.split('\n');
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      row[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1]);
    prev = row;
  }
  return { added: b.length - prev[b.length], removed: a.length - prev[b.length] };
}

const FIXTURE_FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.yml'));

/** Lines a fixture's edit may rewrite (besides inserting): a flow list gains `, learn`, a single include becomes a list item. */
const REWRITTEN: Record<string, { inline: number; component: number }> = {
  'flow-stages.yml': { inline: 1, component: 1 },
  'flow-root.yml': { inline: 1, component: 1 },
  'spec-header.yml': { inline: 1, component: 1 },
  'keep-chomp-last.yml': { inline: 1, component: 1 },
  'include-string.yml': { inline: 0, component: 1 },
  'include-flow-list.yml': { inline: 1, component: 2 },
  'include-map.yml': { inline: 0, component: 5 },
};

describe('ensureLearnStage on the in-repo fixtures (test/fixtures/learn-stage)', () => {
  it('has a fixture for each layout', () => {
    expect(FIXTURE_FILES.length).toBeGreaterThanOrEqual(17);
  });

  for (const name of FIXTURE_FILES) {
    const original = fixture(name);
    const variants: Array<[string, string]> = [[name, original]];
    if (!original.includes('\r\n')) variants.push([`${name} (CRLF)`, original.replace(/\n/g, '\r\n')]);
    if (original.endsWith('\n')) variants.push([`${name} (no final newline)`, original.replace(/(\r?\n)+$/, '')]);
    variants.push([`${name} (byte-order mark)`, `\uFEFF${original}`]);
    for (const options of [inline, component]) {
      const mode = options.component ? 'component' : 'inline';
      it(`${name}: adds only the learn ${mode === 'inline' ? 'job' : 'include'} and stage, keeping every byte`, () => {
        for (const [label, before] of variants) {
          if (label.endsWith('(no final newline)') && name === 'keep-chomp-last.yml') continue;
          const after = ensureLearnStage(before, options);
          expectMinimalEdit(before, after, options, `${label} ${mode}`);
          expect(validatePipeline(after).errors, label).toEqual([]);
          // line endings and the missing final newline are the file's, not ours
          if (before.includes('\r\n')) expect(after.replace(/\r\n/g, ''), label).not.toContain('\n');
          expect(after.endsWith('\n'), label).toBe(before.endsWith('\n'));
        }
        const { removed } = lineDiff(original, ensureLearnStage(original, options));
        expect(removed, `${name}: lines rewritten`).toBe(REWRITTEN[name]?.[mode] ?? 0);
      });
    }
  }

  it('writes the job in the file’s own indentation: four spaces, sequences four under their key', () => {
    const before = fixture('indent4-folded.yml');
    const after = ensureLearnStage(before, inline);
    expect(after.startsWith(before.replace('    - test\n', '    - test\n    - learn\n').split('\nbuild:')[0])).toBe(
      true,
    );
    expect(after).toContain('\nlearn_record:\n    stage: learn\n    image:\n        name: ');
    expect(after).toContain('\n    script:\n        - LEARN_URL="$PIPELINE_LEARNER_URL"\n');
    expect(lineDiff(before, after)).toEqual({ added: 19, removed: 0 });
  });

  it('writes sequences flush with their key where the file does', () => {
    const after = ensureLearnStage(fixture('indent2-flush-seq.yml'), inline);
    expect(after.startsWith('stages:\n- lint\n- test\n- learn\nlint:\n')).toBe(true);
    expect(after).toContain('\n  script:\n  - LEARN_URL=');
  });

  it('extends a flow sequence of stages in place', () => {
    expect(ensureLearnStage(fixture('flow-stages.yml'), inline).split('\n')[0]).toBe('stages: [build, test, learn]');
    expect(ensureLearnStage(fixture('flow-root.yml'), inline)).toMatch(/^\{stages: \[test, learn\], test: /);
  });

  it('adds the component to an include given as a string, a map, a list or a flow list', () => {
    expect(ensureLearnStage(fixture('include-string.yml'), component)).toMatch(
      /^include:\n {2}- 'ci\/common\.yml' {2}# shared jobs\n {2}- component: \$CI_SERVER_FQDN\/devops\/pipeline-learner\/learn@1\.0\.0\n {4}inputs:\n {6}stage: learn\n/,
    );
    expect(ensureLearnStage(fixture('include-map.yml'), component)).toMatch(
      /^include:\n {4}- local: ci\/common\.yml\n {6}rules:\n {10}- if: .*\n {12}when: never\n {10}- when: always\n {4}- component: /,
    );
    expect(ensureLearnStage(fixture('include-list.yml'), component)).toMatch(
      /^include:\n {2}- local: ci\/common\.yml\n {2}- local: ci\/more\.yml\n {2}- component: /,
    );
    expect(ensureLearnStage(fixture('include-flow-list.yml'), component).split('\n')[0]).toBe(
      'include: [ci/common.yml, {component: $CI_SERVER_FQDN/devops/pipeline-learner/learn@1.0.0, inputs: {stage: learn, service_url: https://learner.example.com}}]',
    );
  });

  it('puts a new include below a file header and above the first key’s own comment', () => {
    const header = ensureLearnStage(fixture('comments-first.yml'), component);
    expect(header).toMatch(/^# Pipeline for the docs site\.\n# Owned by the platform team\.\ninclude:\n/);
    expect(header).toContain('\n\ndefault:\n');
    expect(header).toContain('\n# the only job\npages:\n');
    const doc = ensureLearnStage(fixture('doc-start.yml'), component);
    expect(doc.startsWith('---\n# comment under the document marker\ninclude:\n')).toBe(true);
    const spec = fixture('spec-header.yml');
    expect(ensureLearnStage(spec, component).startsWith(spec.split('---\n')[0])).toBe(true);
  });

  it('uses .post without a stages list and does not list learn twice', () => {
    const post = ensureLearnStage(fixture('no-stages.yml'), inline);
    expect(toJs(post)[LEARN_JOB]).toMatchObject({ stage: '.post' });
    expect(toJs(post).stages).toBeUndefined();
    const listed = fixture('stages-has-learn.yml');
    const after = ensureLearnStage(listed, inline);
    expect(after.startsWith(listed)).toBe(true);
    expect(toJs(after)[LEARN_JOB]).toMatchObject({ stage: 'learn' });
  });

  it('refuses, rather than change the pipeline, when the insertion cannot keep a value as it was', () => {
    // an indentation indicator counts from the parent's column, which turning the include into a list moves
    const text = 'include: |1\n  a.yml\nt:\n  script: [x]\n';
    expect(() => ensureLearnStage(text, component)).toThrow(UserFacingError);
    expect(() => ensureLearnStage(text, component)).toThrow(/add it by hand/);
  });
});

describe.skipIf(!corpus)('ensureLearnStage on the real-world corpus (PIPELINE_LEARNER_CORPUS)', () => {
  const entries = corpus?.entries ?? [];
  const read = (file: string) => corpus?.read(file) ?? '';
  const valid = entries.filter((e) => e.yaml_npm_parse_ok);
  const invalid = entries.filter((e) => !e.yaml_npm_parse_ok);

  it('has both parseable and broken files', () => {
    expect(valid.length).toBeGreaterThan(30);
    expect(invalid.length).toBeGreaterThan(0);
  });

  for (const options of [inline, component]) {
    const mode = options.component ? 'component' : 'inline job';
    it(`keeps every byte in order and adds exactly the learn stage (${mode})`, () => {
      for (const { file } of valid) {
        const before = read(file);
        const after = ensureLearnStage(before, options);
        expectMinimalEdit(before, after, options, file);
        // at most the last line (no final newline), a flow list or a single include is rewritten
        expect(lineDiff(before, after).removed, file).toBeLessThanOrEqual(1);
      }
    });
  }

  it('the result passes our validation (real files as learned candidates must not be rejected)', () => {
    for (const { file } of valid) {
      const after = ensureLearnStage(read(file), inline);
      expect(validatePipeline(after).errors, file).toEqual([]);
    }
  });

  it('keeps comments, anchors, aliases and !reference tags in the text', () => {
    for (const { file } of valid) {
      const before = read(file);
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
      const before = read(file);
      const keysBefore = Object.keys(toJs(before));
      const keysAfter = Object.keys(toJs(ensureLearnStage(before, inline)));
      expect(keysAfter.slice(0, keysBefore.length), file).toEqual(keysBefore);
    }
  });

  it('names line and column for the broken files', () => {
    for (const { file } of invalid) {
      const text = read(file);
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

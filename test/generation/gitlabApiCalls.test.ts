import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_READS } from '../../src/generation/analyzeRepository.js';
import { generateForProject } from '../../src/generation/generateForProject.js';
import { generatePipeline } from '../../src/generation/generatePipeline.js';
import { seedRuleChooser } from '../../src/generation/seedRuleChooser.js';
import { createGitLab } from '../../src/gitlab/GitbeakerGitLab.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { type FakeGitLab, startFakeGitLab } from '../fakes/fakeGitLab.js';
import { EXPECTED, FIXTURES } from './support.js';

function filesOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) Object.assign(out, filesOf(dir, rel));
    else out[rel] = readFileSync(join(dir, rel), 'utf8');
  }
  return out;
}

describe('one generation against the fake GitLab (real REST paths, through gitbeaker)', () => {
  let gl: FakeGitLab;
  beforeAll(async () => {
    // small pages so the tree listing really paginates
    gl = await startFakeGitLab({ maxPerPage: 5 });
  });
  afterAll(() => gl.close());

  it('costs one tree listing (all its pages) and at most twelve file reads, with the same result as locally', async () => {
    const client = createGitLab({ url: gl.url, token: gl.token });
    for (const name of Object.keys(EXPECTED)) {
      const files = filesOf(join(FIXTURES, name));
      const path = `acme/${name}`;
      gl.addProject({ path, files: { ...files, 'docs/a.md': 'a', 'docs/b.md': 'b', 'docs/c.md': 'c' } });
      gl.resetRequests();
      const g = await generatePipeline(
        { reader: new GitLabRepoReader(client, path, 'main'), tenant: 'acme' },
        { chooser: seedRuleChooser, learnStage: { component: null, serviceUrl: null } },
      ).catch((err: Error) => {
        // an unknown stack with no tests: no proposal, after the same reads
        if (name === 'unknown' && /^No proposal/.test(err.message)) return EXPECTED[name];
        throw err;
      });
      expect([g.language, g.framework], name).toEqual([EXPECTED[name].language, EXPECTED[name].framework]);
      const treePages = gl.count({ method: 'GET', path: '/repository/tree' });
      const reads = gl.count({ method: 'GET', path: '/repository/files/' });
      expect(treePages, name).toBeGreaterThanOrEqual(1);
      expect(treePages, name).toBeLessThanOrEqual(Math.ceil((Object.keys(files).length + 6) / 5) + 1);
      expect(reads, name).toBeLessThanOrEqual(MAX_READS);
      expect(gl.requests.length, name).toBe(treePages + reads);
    }
  });

  it('with lint: the same calls plus one CI lint (dry run) for the chosen candidate', async () => {
    const client = createGitLab({ url: gl.url, token: gl.token });
    const files = filesOf(join(FIXTURES, 'python-django'));
    gl.addProject({ path: 'acme/linted', files });
    gl.resetRequests();
    const g = await generateForProject(
      client,
      { project: 'acme/linted', ref: 'main', tenant: 'acme' },
      { chooser: seedRuleChooser, learnStage: { component: null, serviceUrl: null } },
    );
    expect(g.lint?.valid).toBe(true);
    expect(gl.count({ method: 'POST', path: '/ci/lint' })).toBe(1);
    expect(gl.count({ method: 'GET', path: '/repository/tree' })).toBe(1);
    expect(gl.count({ method: 'GET', path: '/repository/files/' })).toBeLessThanOrEqual(MAX_READS);
  });
});

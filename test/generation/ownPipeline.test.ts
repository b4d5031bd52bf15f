import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gcl, gitRepo } from './gcl.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe("this repository's own .gitlab-ci.yml", () => {
  it('includes the learn component from its own commit and gitlab-ci-local accepts it', async () => {
    const { dir } = await gitRepo({
      '.gitlab-ci.yml': readFileSync(join(ROOT, '.gitlab-ci.yml'), 'utf8'),
      'templates/learn.yml': readFileSync(join(ROOT, 'templates', 'learn.yml'), 'utf8'),
    });
    const r = await gcl(dir, ['--list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/selftest-learn_record\s+test\s+on_success\s+true/);
    expect(r.stdout).toMatch(/^test\s+test\s+on_success\s+false/m);
  });
});

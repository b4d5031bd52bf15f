import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_STACKS } from '../../src/generation/builtInTemplates.js';
import { renderCiComponents } from '../../src/generation/renderCiComponents.js';
import {
  allFrameworks,
  frameworksOf,
  isFramework,
  isLanguage,
  LANGUAGES,
  slugProblem,
  slugsMarkdown,
} from '../../src/generation/slugs.js';
import { EXPECTED } from './support.js';

const DOC = join(import.meta.dirname, '..', '..', 'docs', 'slugs.md');

describe('the slug registry', () => {
  if (process.env.UPDATE_SLUGS_DOC === '1') writeFileSync(DOC, slugsMarkdown());

  it('docs/slugs.md is the registry (regenerate with UPDATE_SLUGS_DOC=1)', () => {
    expect(existsSync(DOC)).toBe(true);
    expect(readFileSync(DOC, 'utf8')).toBe(slugsMarkdown());
    for (const l of LANGUAGES) expect(slugsMarkdown()).toContain(`| \`${l}\` |`);
  });

  it('has every slug the pinned decisions name', () => {
    expect(frameworksOf('terraform')).toEqual(['generic', 'terraform', 'opentofu']);
    expect(frameworksOf('docs')).toEqual(['generic', 'mkdocs', 'hugo']);
    for (const l of ['c', 'cpp'] as const) expect(frameworksOf(l)).toEqual(['generic', 'cmake', 'meson', 'make']);
    for (const l of ['helm', 'docker', 'unknown']) expect(isLanguage(l), l).toBe(true);
  });

  it('names every built-in stack, ci-components default and fixture with registry slugs', () => {
    for (const s of BUILT_IN_STACKS) {
      expect(isLanguage(s.language), s.language).toBe(true);
      if (isLanguage(s.language))
        expect(frameworksOf(s.language), `${s.language}-${s.framework}`).toContain(s.framework);
    }
    const pairs = new Set(LANGUAGES.flatMap((l) => frameworksOf(l).map((f) => `${l}-${f}`)));
    const defaults = [...renderCiComponents().keys()].filter((p) => p.startsWith('defaults/'));
    expect(defaults.length).toBeGreaterThan(30);
    for (const p of defaults) expect(pairs, p).toContain(p.replace(/^defaults\/|\.yml$/g, ''));
    const onDisk = readdirSync(join(import.meta.dirname, '..', '..', 'ci-components', 'defaults'));
    for (const f of onDisk) expect(pairs, f).toContain(f.replace(/\.yml$/, ''));
    for (const [name, e] of Object.entries(EXPECTED)) {
      expect(isLanguage(e.language), name).toBe(true);
      expect(isFramework(e.framework), name).toBe(true);
    }
  });

  it('explains an unknown slug with the valid list', () => {
    expect(slugProblem('node', 'express')).toBeNull();
    expect(slugProblem(undefined, 'opentofu')).toBeNull();
    expect(slugProblem(undefined, undefined)).toBeNull();
    expect(slugProblem('cobol', undefined)).toMatch(/^unknown language "cobol"; valid: go, python, node/);
    expect(slugProblem('terraform', 'pulumi')).toBe(
      'unknown framework "pulumi" for terraform; valid: generic, terraform, opentofu',
    );
    expect(slugProblem('node', 'django')).toMatch(/for node; valid: generic, express/);
    expect(slugProblem(undefined, 'nope')).toBe(`unknown framework "nope"; valid: ${allFrameworks().join(', ')}`);
  });
});

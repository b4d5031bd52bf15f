import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Tests and benchmarks must run from a clone anywhere: data outside the repository comes in only
 * through an environment variable (PIPELINE_LEARNER_CORPUS), never through a path written here.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    // fixture repositories are data the tests read, not code that runs
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : sources(path);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

/** Code lines, without comment lines (a comment may say where a copy came from). */
const codeLines = (text: string) => text.split('\n').filter((l) => !/^\s*(\/\/|\/?\*)/.test(l));

describe('test/ and bench/ stay inside the repository', () => {
  const files = [...sources(join(ROOT, 'test')), ...sources(join(ROOT, 'bench'))];

  it('finds the sources to check', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('names no path outside the repository', () => {
    const found: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      for (const line of codeLines(readFileSync(file, 'utf8'))) {
        if (/\.\.\/shared\b|['"`]\/work\//.test(line)) found.push(`${rel}: ${line.trim()}`);
        // join(import.meta.dirname, '..', ...) with literal segments: resolve it and stay inside
        for (const m of line.matchAll(/join\(import\.meta\.dirname((?:\s*,\s*'[^']*')+)\s*\)/g)) {
          const segments = [...m[1].matchAll(/'([^']*)'/g)].map((s) => s[1]);
          const target = resolve(dirname(file), ...segments);
          if (relative(ROOT, target).startsWith('..')) found.push(`${rel}: ${line.trim()}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});

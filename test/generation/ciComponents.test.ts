import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCiComponents } from '../../src/generation/renderCiComponents.js';
import { validatePipeline } from '../../src/generation/validatePipeline.js';

const ROOT = join(import.meta.dirname, '..', '..', 'ci-components');

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('ci-components/', () => {
  const rendered = renderCiComponents();
  if (process.env.UPDATE_CI_COMPONENTS === '1') {
    for (const [path, content] of rendered) {
      mkdirSync(dirname(join(ROOT, path)), { recursive: true });
      writeFileSync(join(ROOT, path), content);
    }
  }

  it('matches what the code composes (regenerate with UPDATE_CI_COMPONENTS=1)', () => {
    const onDisk = existsSync(ROOT)
      ? listFiles(ROOT)
          .filter((f) => f !== 'README.md')
          .sort()
      : [];
    expect(onDisk).toEqual([...rendered.keys()].sort());
    for (const [path, content] of rendered) expect(readFileSync(join(ROOT, path), 'utf8'), path).toBe(content);
  });

  it('every YAML file is a valid pipeline without latest images', () => {
    for (const [path, content] of rendered) {
      if (!path.endsWith('.yml')) continue;
      expect(validatePipeline(content), path).toMatchObject({ ok: true, errors: [] });
      expect(content, path).not.toMatch(/:latest\b/);
    }
    for (const [path, content] of rendered) {
      if (path.endsWith('.Dockerfile')) expect(content, path).not.toMatch(/:latest\b|^FROM [^:\s]+\s*$/m);
    }
  });

  it('has a README that mentions every file', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const path of rendered.keys())
      expect(readme, path).toContain(
        path
          .split('/')
          .pop()!
          .replace(/\.(yml|Dockerfile)$/, ''),
      );
  });
});

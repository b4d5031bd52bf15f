// Compiles test/fakes (the fake GitLab and its webhook payload builder) for the benchmarks, which
// run plain JavaScript. Output under node_modules/.cache so its imports resolve from the checkout.
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';

export function buildFakes(root) {
  const out = join(root, 'node_modules/.cache/pl-bench-fakes');
  const r = spawnSync(
    'npx',
    [
      'tsc',
      '--outDir',
      out,
      '--rootDir',
      join(root, 'test/fakes'),
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--ignoreConfig',
      '--skipLibCheck',
      '--types',
      'node',
      '--resolveJsonModule',
      join(root, 'test/fakes/fakeGitLab.ts'),
      join(root, 'test/fakes/gitlabHooks.ts'),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`could not compile test/fakes:\n${r.stdout}${r.stderr}`);
  cpSync(join(root, 'test/fakes/payloads'), join(out, 'payloads'), { recursive: true });
  return out;
}

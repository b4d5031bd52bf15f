/** Workspace facts from manifest texts: which commands must cover every member. */

/** Cargo.toml declares a workspace: tests, lints and builds need `--workspace` to reach every crate. */
export function isCargoWorkspace(cargoToml: string): boolean {
  return /^\s*\[workspace\]/m.test(cargoToml);
}

/** Root package.json / pnpm-workspace.yaml / turbo.json: a JavaScript workspace. */
export function isNodeWorkspace(pkg: { workspaces?: unknown }, files: string[]): boolean {
  return (
    pkg.workspaces !== undefined ||
    files.includes('pnpm-workspace.yaml') ||
    files.includes('turbo.json') ||
    files.includes('nx.json') ||
    files.includes('lerna.json')
  );
}

/** Test files by name: `*.test.ts`, `*_spec.js`, `__tests__/`, `test/` or `tests/` directories. */
const NODE_TEST_FILE = /(^|\/)(__tests__|tests?)\/|\.(test|spec)\.[cm]?[jt]sx?$/;

/**
 * Workspace members (directories below the root holding a package.json, outside node_modules) that
 * have test files, nearest first: the ones whose package.json is worth reading for a `test` script.
 */
export function nodeMembersWithTests(files: string[]): string[] {
  const members = files
    .filter((f) => f.endsWith('/package.json') && !f.includes('node_modules/'))
    .map((f) => f.slice(0, -'/package.json'.length));
  return members
    .filter((m) => files.some((f) => f.startsWith(`${m}/`) && NODE_TEST_FILE.test(f.slice(m.length + 1))))
    .sort((x, y) => x.split('/').length - y.split('/').length || (x < y ? -1 : 1));
}

/**
 * The command that runs every member's `test` script (members without one are skipped), per package
 * manager; through turbo when the root runs its tasks with turbo.
 */
export function workspaceTestCommand(packageManager: string, turbo: boolean): string {
  if (turbo)
    return packageManager === 'npm'
      ? 'npx turbo run test'
      : `${packageManager === 'bun' ? 'bunx' : packageManager} turbo run test`;
  switch (packageManager) {
    case 'pnpm':
      return 'pnpm -r --if-present test';
    case 'yarn':
      return 'yarn workspaces foreach -A run test';
    case 'bun':
      return "bun run --filter '*' test";
    default:
      return 'npm test --workspaces --if-present';
  }
}

/** The root script that type-checks (`typecheck`, `type-check`, `check-types`, `tsc`), if any. */
export function typecheckScript(scripts: Record<string, string>): string | null {
  return (
    ['typecheck', 'type-check', 'check-types', 'types:check', 'tsc', 'check:types'].find((s) => scripts[s]) ?? null
  );
}

/**
 * Members of a uv workspace (`[tool.uv.workspace] members = [...]`), resolved against the file
 * list: globs like `packages/*` become the directories that hold a pyproject.toml.
 */
export function uvWorkspaceMembers(pyproject: string, files: string[]): string[] {
  const section = pyproject.match(/^\[tool\.uv\.workspace\]([\s\S]*?)(?=^\[|$(?![\s\S]))/m)?.[1];
  if (section === undefined) return [];
  const members = section.match(/members\s*=\s*\[([\s\S]*?)\]/)?.[1] ?? '';
  const excludes = section.match(/exclude\s*=\s*\[([\s\S]*?)\]/)?.[1] ?? '';
  const globs = [...members.matchAll(/["']([^"']+)["']/g)].map((m) => m[1].replace(/\/$/, ''));
  const excluded = [...excludes.matchAll(/["']([^"']+)["']/g)].map((m) => globRe(m[1].replace(/\/$/, '')));
  const dirs = files.filter((f) => f.endsWith('/pyproject.toml')).map((f) => f.slice(0, -'/pyproject.toml'.length));
  return dirs.filter((d) => globs.some((g) => globRe(g).test(d)) && !excluded.some((re) => re.test(d))).sort();
}

function globRe(glob: string): RegExp {
  const src = glob
    .split('/')
    .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')))
    .join('/');
  return new RegExp(`^${src}$`);
}

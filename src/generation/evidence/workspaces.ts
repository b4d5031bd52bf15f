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

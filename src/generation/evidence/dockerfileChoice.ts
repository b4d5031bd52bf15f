/**
 * Which Dockerfile, if any, is the application's production image. Development containers,
 * documentation, test and build-machine images are never pushed as the application.
 */

const DOCKERFILE_NAME = /(^|\/)(Dockerfile|Containerfile)(\.[\w.-]+)?$|(^|\/)[\w.-]+\.(Dockerfile|Containerfile)$/;

/** Directories and name suffixes of images that are not the application. */
const NOT_PRODUCTION_DIR =
  /(^|\/)(\.devcontainer|\.github|\.gitlab|\.circleci|\.ci|ci|docs?|documentation|tests?|testing|testdata|e2e|fixtures?|examples?|samples?|hack|tools?|scripts|packer|vagrant|vm|images?|build-?vm|builder|dev|contrib|benchmarks?|\.buildkite)\//i;
const NOT_PRODUCTION_NAME = /(^|[./-])(dev|devel|development|test|tests|ci|docs?|local|debug|builder|e2e)([./-]|$)/i;

export function isDockerfile(path: string): boolean {
  return DOCKERFILE_NAME.test(path);
}

/** A Dockerfile that builds something other than the application. */
export function notProductionReason(path: string): string | null {
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  const m = dir.match(NOT_PRODUCTION_DIR);
  if (m) return `${m[2]}/ holds development, documentation, test or build-machine images`;
  const base = path
    .split('/')
    .pop()!
    .replace(/^(Dockerfile|Containerfile)/, '');
  if (base && NOT_PRODUCTION_NAME.test(base))
    return `${path.split('/').pop()} is named for ${base.match(NOT_PRODUCTION_NAME)![2]} use`;
  return null;
}

/** Dockerfiles a CI file builds: `docker build -f X`, `buildah bud -f X`, `file: X` of build-push actions, kaniko `--dockerfile`. */
export function dockerfilesReferencedByCi(text: string, files: Set<string>): string[] {
  const out: string[] = [];
  const res = [
    /(?:docker|podman|buildah)\s+(?:buildx\s+)?(?:build|bud)\b[^\n]*?(?:-f|--file)[=\s]+["']?([\w./${}-]+)/g,
    /--dockerfile[=\s]+["']?([\w./${}-]+)/g,
    /^\s*(?:file|dockerfile):\s*["']?([\w./-]*(?:Dockerfile|Containerfile)[\w.-]*)/gim,
  ];
  for (const re of res) {
    for (const m of text.matchAll(re)) {
      const p = m[1]
        .replace(/^\.\//, '')
        .replace(/^\$(\{CI_PROJECT_DIR\}|CI_PROJECT_DIR|\{\{\s*github\.workspace\s*\}\})\//, '');
      if (files.has(p)) out.push(p);
    }
  }
  return [...new Set(out)];
}

export interface DockerfileChoice {
  path: string | null;
  /** why this one, or why none, for the evidence list */
  reasons: string[];
}

/**
 * Candidates in order of authority: the Dockerfiles the project's CI builds, those compose builds,
 * then the root Dockerfile/Containerfile, then one directly below the root. A non-production path
 * is refused wherever it is referenced.
 */
export function chooseDockerfile(input: {
  files: string[];
  ciRefs: string[];
  composeRefs: string[];
  /** whether the analysis found a language (a sub-directory Dockerfile only counts then) */
  hasLanguage: boolean;
}): DockerfileChoice {
  const present = new Set(input.files);
  const reasons: string[] = [];
  const ordered: Array<[string, string]> = [
    ...input.ciRefs.map((p): [string, string] => [p, "built by the project's CI"]),
    ...input.composeRefs.filter((p) => present.has(p)).map((p): [string, string] => [p, 'built by the compose file']),
    ...input.files
      .filter((f) => /^(Dockerfile|Containerfile)$/.test(f))
      .map((p): [string, string] => [p, 'at the root']),
    ...(input.hasLanguage
      ? input.files
          .filter((f) => /^[^/]+\/(Dockerfile|Containerfile)$/.test(f))
          .map((p): [string, string] => [p, 'directly below the root'])
      : []),
  ];
  const seen = new Set<string>();
  for (const [path, why] of ordered) {
    if (seen.has(path)) continue;
    seen.add(path);
    const refused = notProductionReason(path);
    if (refused) {
      reasons.push(`${path} not built: ${refused}`);
      continue;
    }
    reasons.push(`${path}: ${why}`);
    return { path, reasons };
  }
  return { path: null, reasons };
}

/**
 * A Dockerfile whose final stage COPYs a file that neither the repository, an earlier stage nor
 * an earlier job's artifacts provide (a goreleaser image copies a binary built at release time).
 * Returns the missing sources, empty when the image can be built from a checkout.
 */
export function missingBuildInputs(
  text: string,
  files: string[],
  artifactPaths: string[],
  /** the build context, relative to the repository root ('' for the root) */
  context = '',
): string[] {
  const dir = context ? `${context.replace(/\/$/, '')}/` : '';
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages = lines.filter((l) => /^\s*FROM\s/i.test(l));
  const missing: string[] = [];
  let stageIndex = -1;
  for (const line of lines) {
    if (/^\s*FROM\s/i.test(line)) stageIndex++;
    if (stageIndex !== stages.length - 1) continue;
    const m = line.match(/^\s*(?:COPY|ADD)\s+(.*)$/i);
    if (!m || /--from[=\s]/i.test(m[1])) continue;
    const args = (m[1].trim().startsWith('[') ? safeJsonArray(m[1]) : m[1].split(/\s+/)).filter(
      (a) => a && !a.startsWith('--'),
    );
    for (const src of args.slice(0, -1)) {
      if (/^https?:\/\//.test(src) || src.includes('$') || src.includes('*')) continue;
      const rel = (dir + src.replace(/^\.\//, '')).replace(/\/$/, '');
      if (rel === '' || rel === '.' || src === '.' || src === './') continue;
      const inRepo = files.some((f) => f === rel || f.startsWith(`${rel}/`));
      const built = artifactPaths.some((p) => rel.startsWith(p.replace(/\/$/, '')) || p.startsWith(rel));
      if (!inRepo && !built) missing.push(src);
    }
  }
  return missing;
}

function safeJsonArray(text: string): string[] {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

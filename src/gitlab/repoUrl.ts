import { UserFacingError } from '../errors.js';

/**
 * `https://gitlab.example.com/acme/app(.git)` (seed-style `repo_url`) → `acme/app`. A GitLab served
 * under a relative URL (`https://host/gitlab/acme/app` with GITLAB_URL `https://host/gitlab`) loses
 * that prefix; page suffixes such as `/-/merge_requests/7` are dropped.
 */
export function projectPathFromRepoUrl(repoUrl: string, gitlabUrl: string | null): string {
  let path: string;
  try {
    path = new URL(repoUrl).pathname;
  } catch {
    throw new UserFacingError(`repo_url is not a URL: ${repoUrl}`, { status: 400 });
  }
  const prefix = gitlabUrl ? new URL(gitlabUrl).pathname.replace(/\/+$/, '') : '';
  if (prefix && path.startsWith(`${prefix}/`)) path = path.slice(prefix.length);
  path = path
    .replace(/\/-\/.*$/, '')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '');
  if (!path.includes('/')) throw new UserFacingError(`repo_url does not name a project: ${repoUrl}`, { status: 400 });
  return path;
}

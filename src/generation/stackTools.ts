/**
 * Tool versions and images of the C/C++ (meson, make, cmake), Terraform/OpenTofu, Helm, Docker and
 * docs-site stacks, in one place so the versions table can take them over. Exact releases, never
 * `latest`; a repository's own pin (`.terraform-version`, `.tool-versions`) wins over these.
 */
export const STACK_TOOL_VERSIONS = {
  terraform: '1.12.2',
  opentofu: '1.9.1',
  helm: '3.17.3',
  hugo: '0.147.9',
  mkdocs: '1.6.1',
  'mkdocs-material': '9.6.14',
  trivy: '0.62.1',
  hadolint: '2.12.0',
  alpine: '3.21',
} as const;

export type StackTool = keyof typeof STACK_TOOL_VERSIONS;

/** Images whose entrypoint is the tool itself; jobs reset it so `script:` runs in a shell. */
export const STACK_IMAGES = {
  terraform: (v: string) => `hashicorp/terraform:${v}`,
  // OpenTofu's own images stopped being usable directly with 1.10: install the release into Alpine
  opentofu: () => `alpine:${STACK_TOOL_VERSIONS.alpine}`,
  helm: (v: string) => `alpine/helm:${v}`,
  hugo: (v: string) => `ghcr.io/gohugoio/hugo:v${v}`,
  trivy: (v: string) => `aquasec/trivy:${v}`,
  hadolint: (v: string) => `hadolint/hadolint:v${v}-alpine`,
} as const;

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { STACK_TOOL_VERSIONS } from '../../src/generation/stackTools.js';
import { GitLabRepoReader } from '../../src/repo/GitLabRepoReader.js';
import { memoryGitLab } from './support.js';

async function propose(files: Record<string, string>) {
  const a = await analyzeRepository(new GitLabRepoReader(memoryGitLab(files).gitlab, 1, 'main'));
  return { a, jobs: parse(composeDefaultPipeline(a).config) as Record<string, Record<string, unknown>> };
}

const TF = 'resource "terraform_data" "x" {}\n';

describe('Terraform and OpenTofu', () => {
  it('validates every module directory without a backend and plans root modules only, by hand', async () => {
    const { a, jobs } = await propose({
      'envs/prod/main.tf': TF,
      'envs/staging/main.tf': TF,
      'modules/vpc/main.tf': TF,
      '.terraform.lock.hcl': '',
    });
    expect([a.language, a.framework]).toEqual(['terraform', 'terraform']);
    expect(jobs['.terraform'].image).toEqual({
      name: `hashicorp/terraform:${STACK_TOOL_VERSIONS.terraform}`,
      entrypoint: [''],
    });
    expect(jobs['.terraform'].cache).toMatchObject({ key: { files: ['.terraform.lock.hcl'] } });
    expect(jobs['terraform-fmt'].script).toEqual(['terraform fmt -check -recursive -diff']);
    expect(jobs['terraform-validate'].script).toEqual([
      'terraform -chdir=envs/prod init -backend=false -input=false',
      'terraform -chdir=envs/prod validate',
      'terraform -chdir=envs/staging init -backend=false -input=false',
      'terraform -chdir=envs/staging validate',
      'terraform -chdir=modules/vpc init -backend=false -input=false',
      'terraform -chdir=modules/vpc validate',
    ]);
    const plan = jobs['terraform-plan'];
    expect(JSON.stringify(plan.script)).not.toContain('modules/vpc');
    expect(plan.script).toContain(
      'terraform -chdir=envs/prod plan -input=false -out=$CI_PROJECT_DIR/plan-envs-prod.tfplan',
    );
    // without credentials a plan cannot run: manual, and never red for the pipeline
    expect(plan.rules).toEqual([
      { if: '$TF_PLAN_DISABLED == "true"', when: 'never' },
      { when: 'manual', allow_failure: true },
    ]);
    expect(jobs['terraform-test']).toBeUndefined();
  });

  it('keeps an exact .terraform-version and ignores a non-pin; runs terraform test when tests exist', async () => {
    const pinned = await propose({ 'main.tf': TF, '.terraform-version': '1.5.7\n', 'tests/a.tftest.hcl': '' });
    expect(pinned.a.versions.terraform).toBe('1.5.7');
    expect((pinned.jobs['.terraform'].image as { name: string }).name).toBe('hashicorp/terraform:1.5.7');
    expect(pinned.jobs['terraform-test'].script).toEqual([
      'terraform init -backend=false -input=false',
      'terraform test',
    ]);
    const latest = await propose({ 'main.tf': TF, '.terraform-version': 'latest\n' });
    expect(latest.a.versions.terraform).toBeUndefined();
  });

  it.each([
    ['.tofu files', { 'main.tofu': TF }],
    ['.opentofu-version', { 'main.tf': TF, '.opentofu-version': '1.8.3\n' }],
    ['.tool-versions', { 'main.tf': TF, '.tool-versions': 'opentofu 1.8.3\n' }],
    ['the repository CI', { 'main.tf': TF, '.gitlab-ci.yml': 'plan:\n  script: [tofu init, tofu plan]\n' }],
    [
      'a GitHub workflow',
      { 'main.tf': TF, '.github/workflows/ci.yml': 'steps:\n  - uses: opentofu/setup-opentofu@v1\n' },
    ],
  ])('chooses OpenTofu from %s', async (_why, files) => {
    const { a, jobs } = await propose(files);
    expect(a.framework).toBe('opentofu');
    expect(jobs['tofu-fmt'].script).toEqual(['tofu fmt -check -recursive -diff']);
    expect(jobs['tofu-validate'].script).toEqual(['tofu init -backend=false -input=false', 'tofu validate']);
    const version = a.versions.opentofu ?? STACK_TOOL_VERSIONS.opentofu;
    expect(JSON.stringify(jobs['.tofu'].before_script)).toContain(
      `download/v${version}/tofu_${version}_linux_amd64.zip`,
    );
    expect(jobs['terraform-validate']).toBeUndefined();
  });

  it('a Go service with a Terraform folder stays a Go service', async () => {
    const { a } = await propose({ 'go.mod': 'module x\n\ngo 1.23\n', 'infra/main.tf': TF });
    expect(a.language).toBe('go');
  });
});

describe('Helm charts', () => {
  it('lints and renders each chart; adds HTTP dependency repositories before building dependencies', async () => {
    const { a, jobs } = await propose({
      'charts/api/Chart.yaml':
        'apiVersion: v2\nname: api\nversion: 1.0.0\ndependencies:\n  - name: redis\n    version: 20.x\n    repository: https://charts.bitnami.com/bitnami\n',
      'charts/api/charts/vendored/Chart.yaml': 'apiVersion: v2\nname: vendored\nversion: 1.0.0\n',
      'charts/web/Chart.yaml':
        'apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: common\n    repository: oci://registry.example.com/charts\n',
      'charts/plain/Chart.yaml': 'apiVersion: v2\nname: plain\nversion: 1.0.0\n',
    });
    expect(a.language).toBe('helm');
    expect(a.stackDirs?.map((d) => d.dir)).toEqual(['charts/api', 'charts/plain', 'charts/web']);
    expect(jobs['.helm'].before_script).toEqual([
      'helm repo add dep1 https://charts.bitnami.com/bitnami',
      'helm dependency build charts/api',
      'helm dependency build charts/web',
    ]);
    expect(jobs['helm-lint'].script).toEqual([
      'helm lint charts/api',
      'helm lint charts/plain',
      'helm lint charts/web',
    ]);
    expect(jobs['helm-template'].script).toContain('helm template web charts/web > rendered/web.yaml');
  });
});

describe('Dockerfile-only repositories', () => {
  it('lints, builds without pushing, scans the archive, and pushes only through container-image', async () => {
    const { a, jobs } = await propose({ Dockerfile: 'FROM alpine:3.21\n', 'entrypoint.sh': '' });
    expect([a.language, a.framework, a.dockerfile]).toEqual(['docker', 'generic', 'Dockerfile']);
    expect(jobs['dockerfile-lint'].script).toEqual(['hadolint --failure-threshold error Dockerfile']);
    expect(JSON.stringify(jobs['image-build'].script)).not.toMatch(/buildah push "\$CI_REGISTRY_IMAGE/);
    expect(jobs['image-build'].artifacts).toMatchObject({ paths: ['image.tar'] });
    expect(jobs['image-scan']).toMatchObject({ needs: ['image-build'], allow_failure: true });
    expect(jobs['image-scan'].script).toEqual([expect.stringContaining('trivy image --input image.tar')]);
    expect(jobs['container-image'].rules).toContainEqual({ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' });
  });
});

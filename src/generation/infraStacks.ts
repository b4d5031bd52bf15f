import type { Analysis, Analyzer, Files, StackDir } from './analyzeRepository.js';
import { EXPIRE, type Fragment, type Job, scanRules, TOOL_IMAGES } from './composeDefaultPipeline.js';
import type { Language } from './slugs.js';
import { STACK_IMAGES, STACK_TOOL_VERSIONS } from './stackTools.js';

/**
 * Repositories without an application manifest: Terraform/OpenTofu configurations, Helm charts,
 * and a Dockerfile alone. Detected only when no language manifest matched, so a Go service with a
 * chart or a Terraform folder stays a Go service.
 */

const TF = /\.(tf|tofu)$/;
/** Directories a pipeline validates: at most this many, nearest the root first. */
const MAX_DIRS = 8;

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

function depth(path: string): number {
  return path.split('/').length;
}

/** Terraform root modules and modules (`.tf`/`.tofu` up to three levels deep), then charts, then a Dockerfile. */
export function detectInfraStack(
  rootFiles: string[],
  files: string[],
): { language: Language; manifest: string } | null {
  const tf = files.filter((f) => TF.test(f) && depth(f) <= 3 && !f.includes('.terraform/'));
  if (tf.length > 0) {
    const root =
      rootFiles.find((f) => /^(main|versions|terraform)\.(tf|tofu)$/.test(f)) ?? rootFiles.find((f) => TF.test(f));
    return { language: 'terraform', manifest: root ?? tf.sort((x, y) => depth(x) - depth(y))[0] };
  }
  const charts = helmCharts(files);
  if (charts.length > 0)
    return { language: 'helm', manifest: charts[0] === '.' ? 'Chart.yaml' : `${charts[0]}/Chart.yaml` };
  const dockerfile = rootFiles.find((f) => f === 'Dockerfile' || f === 'Containerfile');
  if (dockerfile) return { language: 'docker', manifest: dockerfile };
  return null;
}

/** Chart directories ('.' for the root); sub-charts vendored under another chart's charts/ are left to it. */
export function helmCharts(files: string[]): string[] {
  const dirs = files
    .filter((f) => /(^|\/)Chart\.yaml$/.test(f) && depth(f) <= 4)
    .map(dirOf)
    .sort((x, y) => depth(x) - depth(y) || (x < y ? -1 : 1));
  const out: string[] = [];
  for (const d of dirs) {
    if (out.some((p) => d.startsWith(p === '.' ? 'charts/' : `${p}/charts/`))) continue;
    if (/(^|\/)(tests?|testdata|examples?)\//.test(`${d}/`)) continue;
    out.push(d);
  }
  return out.slice(0, MAX_DIRS);
}

function say(a: Analysis, fact: string, file: string, detail: string): void {
  a.evidence.push({ fact, file, detail });
}

/** An exact release such as `1.9.1` (tfenv/tenv also accept `latest`, `min-required`: those are not pins). */
function exactVersion(text: string | null): string | null {
  const v = text?.trim().replace(/^v/, '') ?? '';
  return /^\d+\.\d+\.\d+$/.test(v) ? v : null;
}

async function toolVersionsEntry(b: Files, tool: string): Promise<string | null> {
  if (!b.has('.tool-versions')) return null;
  const text = (await b.read('.tool-versions')) ?? '';
  return text.match(new RegExp(`^${tool}\\s+(\\S+)`, 'm'))?.[1] ?? null;
}

/** The repository's own CI names the binary it runs. */
async function ciUsesTofu(b: Files, files: string[]): Promise<string | null> {
  const ci = ['.gitlab-ci.yml', ...files.filter((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f))].filter((f) =>
    b.has(f),
  );
  for (const f of ci.slice(0, 2)) {
    const text = (await b.read(f)) ?? '';
    if (/\btofu\s+(init|plan|apply|validate|fmt|test)\b|setup-opentofu|opentofu/i.test(text)) return f;
  }
  return null;
}

export const analyzeTerraform: Analyzer = async (a, b, files, manifest) => {
  const tf = files.filter((f) => TF.test(f) && depth(f) <= 3 && !f.includes('.terraform/'));
  const tofuFile = tf.find((f) => f.endsWith('.tofu'));
  const tofuPin = b.has('.opentofu-version') ? exactVersion(await b.read('.opentofu-version')) : null;
  const tfPinRaw = b.has('.terraform-version') ? ((await b.read('.terraform-version')) ?? '') : '';
  const toolTofu = await toolVersionsEntry(b, 'opentofu');
  let tofuReason: [string, string] | null = null;
  if (tofuFile) tofuReason = [tofuFile, '.tofu files are read only by OpenTofu'];
  else if (b.has('.opentofu-version')) tofuReason = ['.opentofu-version', 'OpenTofu version file'];
  else if (toolTofu) tofuReason = ['.tool-versions', `opentofu ${toolTofu}`];
  else if (/tofu/i.test(tfPinRaw)) tofuReason = ['.terraform-version', tfPinRaw.trim()];
  else {
    const ci = await ciUsesTofu(b, files);
    if (ci) tofuReason = [ci, 'the repository CI runs tofu'];
  }
  a.framework = tofuReason ? 'opentofu' : 'terraform';
  a.buildTool = tofuReason ? 'tofu' : 'terraform';
  if (tofuReason) say(a, 'framework=opentofu', tofuReason[0], tofuReason[1]);
  else say(a, 'framework=terraform', manifest, 'Terraform configuration, no OpenTofu marker');

  const tool = tofuReason ? 'opentofu' : 'terraform';
  const pin = tofuReason
    ? (tofuPin ?? exactVersion(toolTofu))
    : (exactVersion(tfPinRaw) ?? exactVersion(await toolVersionsEntry(b, 'terraform')));
  if (pin) {
    a.versions[tool] = pin;
    say(
      a,
      `${tool}=${pin}`,
      tofuPin || exactVersion(tfPinRaw) ? `.${tool}-version` : '.tool-versions',
      `exact pin ${pin}`,
    );
  }
  const lock = tf.length > 0 && b.has('.terraform.lock.hcl') ? '.terraform.lock.hcl' : null;
  a.lockfile = lock;
  a.hasDependencies = true;
  const dirs = [...new Set(tf.map(dirOf))].sort((x, y) => depth(x) - depth(y) || (x < y ? -1 : 1)).slice(0, MAX_DIRS);
  say(a, 'terraform directories', manifest, dirs.join(', '));
  const tests = files.some((f) => /\.tftest\.(hcl|json)$/.test(f) || /\.tofutest\.hcl$/.test(f));
  const bin = tofuReason ? 'tofu' : 'terraform';
  a.lintCommand = `${bin} fmt -check -recursive -diff`;
  a.buildCommand = dirs.map((d) => `${bin}${d === '.' ? '' : ` -chdir=${d}`} validate`).join(' && ');
  if (tests) {
    a.testCommand = `${bin} test`;
    say(a, `test=${bin} test`, files.find((f) => /test\.(hcl|json)$/.test(f)) ?? manifest, 'test files');
  }
  a.stackDirs = dirs.map((dir) => ({ dir }));
};

export const analyzeHelm: Analyzer = async (a, b, files) => {
  a.buildTool = 'helm';
  const charts = helmCharts(files);
  const facts: StackDir[] = [];
  for (const dir of charts) {
    const file = dir === '.' ? 'Chart.yaml' : `${dir}/Chart.yaml`;
    const text = (await b.read(file)) ?? '';
    const at = (f: string) => (dir === '.' ? f : `${dir}/${f}`);
    // the listing answers when the read budget is spent: a lock or v1 requirements file means dependencies
    const deps = /^dependencies\s*:/m.test(text) || b.has(at('Chart.lock')) || b.has(at('requirements.yaml'));
    // `helm dependency build` refuses HTTP repositories that were not added first; OCI and file:// need nothing
    const repos = [...text.matchAll(/^\s*repository\s*:\s*["']?(https?:\/\/[^"'\s]+)/gm)].map((m) => m[1]);
    facts.push({ dir, repositories: [...new Set(repos)], dependencies: deps });
    say(
      a,
      `chart=${dir}`,
      file,
      deps ? `dependencies from ${repos.length ? repos.join(', ') : 'OCI or local paths'}` : 'no dependencies',
    );
  }
  a.hasDependencies = facts.some((f) => f.dependencies);
  a.lintCommand = 'helm lint';
  a.testCommand = 'helm template';
  a.stackDirs = facts;
};

export const analyzeDocker: Analyzer = async (a, b, _files, manifest) => {
  a.buildTool = 'buildah';
  const text = (await b.read(manifest)) ?? '';
  const from = [...text.matchAll(/^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)].map((m) => m[1]);
  say(a, 'dockerfile only', manifest, from.length ? `FROM ${from.join(', ')}` : 'no FROM line read');
  a.buildCommand = `buildah build --file ${manifest} .`;
};

export function terraformFragment(a: Analysis): Fragment {
  const tofu = a.framework === 'opentofu';
  const bin = tofu ? 'tofu' : 'terraform';
  const version = a.versions[tofu ? 'opentofu' : 'terraform'] ?? STACK_TOOL_VERSIONS[tofu ? 'opentofu' : 'terraform'];
  const dirs = a.stackDirs?.map((d) => d.dir) ?? ['.'];
  const chdir = (d: string) => (d === '.' ? bin : `${bin} -chdir=${d}`);
  const base: Job = {
    image: tofu ? STACK_IMAGES.opentofu() : { name: STACK_IMAGES.terraform(version), entrypoint: [''] },
    interruptible: true,
    variables: { TF_IN_AUTOMATION: 'true', TF_PLUGIN_CACHE_DIR: '$CI_PROJECT_DIR/.terraform-plugins' },
    cache: { key: a.lockfile ? { files: [a.lockfile] } : bin, paths: ['.terraform-plugins/'] },
    before_script: ['mkdir -p "$TF_PLUGIN_CACHE_DIR"'],
  };
  if (tofu)
    (base.before_script as string[]).unshift(
      // the official release archive: OpenTofu images are no longer meant to run jobs directly
      `wget -q -O /tmp/tofu.zip "https://github.com/opentofu/opentofu/releases/download/v${version}/tofu_${version}_linux_amd64.zip"`,
      'unzip -q -o /tmp/tofu.zip tofu -d /usr/local/bin && rm /tmp/tofu.zip',
    );
  const hidden = `.${bin}`;
  // modules below modules/ are validated but never planned: only root modules have state
  const roots = dirs.filter((d) => !/(^|\/)modules(\/|$)/.test(d));
  const jobs: Record<string, Job> = {
    [hidden]: base,
    [`${bin}-fmt`]: { extends: hidden, stage: 'lint', script: [a.lintCommand ?? `${bin} fmt -check -recursive -diff`] },
    [`${bin}-validate`]: {
      extends: hidden,
      stage: 'test',
      script: dirs.flatMap((d) => [`${chdir(d)} init -backend=false -input=false`, `${chdir(d)} validate`]),
    },
  };
  if (a.testCommand) {
    jobs[`${bin}-test`] = {
      extends: hidden,
      stage: 'test',
      script: [`${bin} init -backend=false -input=false`, a.testCommand],
    };
  }
  if (roots.length > 0) {
    jobs[`${bin}-plan`] = {
      extends: hidden,
      stage: 'build',
      // a plan reads real state and provider APIs: it needs the credentials only the project's CI/CD
      // variables hold, so it waits for a person and never turns a pipeline without them red
      script: roots.flatMap((d) => [
        `${chdir(d)} init -input=false`,
        `${chdir(d)} plan -input=false -out=$CI_PROJECT_DIR/plan-${d === '.' ? 'root' : d.replace(/[^A-Za-z0-9]+/g, '-')}.tfplan`,
      ]),
      artifacts: { expire_in: EXPIRE, paths: ['plan-*.tfplan'] },
      rules: [
        { if: '$TF_PLAN_DISABLED == "true"', when: 'never' },
        { when: 'manual', allow_failure: true },
      ],
    };
  }
  const label = tofu ? 'OpenTofu' : 'Terraform';
  return {
    name: bin,
    description: `${label}: fmt -check, init -backend=false + validate${a.testCommand ? `, ${bin} test` : ''}, manual plan`,
    jobs,
  };
}

export function helmFragment(a: Analysis): Fragment {
  const facts = a.stackDirs ?? [{ dir: '.' }];
  const repos = [...new Set(facts.flatMap((f) => f.repositories ?? []))];
  const base: Job = {
    image: { name: STACK_IMAGES.helm(a.versions.helm ?? STACK_TOOL_VERSIONS.helm), entrypoint: [''] },
    interruptible: true,
    variables: { HELM_CACHE_HOME: '$CI_PROJECT_DIR/.helm-cache' },
  };
  const prepare = [
    ...repos.map((r, i) => `helm repo add dep${i + 1} ${r}`),
    ...facts.filter((f) => f.dependencies).map((f) => `helm dependency build ${f.dir}`),
  ];
  if (prepare.length > 0) {
    base.before_script = prepare;
    base.cache = { key: 'helm', paths: ['.helm-cache/'] };
  }
  const name = (d: string) => (d === '.' ? 'chart' : (d.split('/').pop() ?? 'chart'));
  return {
    name: 'helm',
    description: 'Helm: lint and render every chart (dependencies built first)',
    jobs: {
      '.helm': base,
      'helm-lint': { extends: '.helm', stage: 'lint', script: facts.map((f) => `helm lint ${f.dir}`) },
      'helm-template': {
        extends: '.helm',
        stage: 'test',
        script: [
          'mkdir -p rendered',
          ...facts.map((f) => `helm template ${name(f.dir)} ${f.dir} > rendered/${name(f.dir)}.yaml`),
        ],
        artifacts: { expire_in: EXPIRE, paths: ['rendered/'] },
      },
    },
  };
}

export function dockerFragment(a: Analysis): Fragment {
  const dockerfile = a.dockerfile ?? 'Dockerfile';
  return {
    name: 'docker',
    description: 'Dockerfile only: hadolint, build without pushing, Trivy scan of the built image',
    jobs: {
      'dockerfile-lint': {
        stage: 'lint',
        image: { name: STACK_IMAGES.hadolint(STACK_TOOL_VERSIONS.hadolint), entrypoint: [''] },
        interruptible: true,
        script: [`hadolint --failure-threshold error ${dockerfile}`],
      },
      'image-build': {
        stage: 'build',
        image: TOOL_IMAGES.buildah,
        interruptible: true,
        variables: { STORAGE_DRIVER: 'vfs', BUILDAH_FORMAT: 'docker', BUILDAH_ISOLATION: 'chroot' },
        script: [
          `buildah build --file ${dockerfile} --tag "$CI_PROJECT_NAME:$CI_COMMIT_SHORT_SHA" .`,
          // an archive, not a registry push: the scan reads it and nothing is published before the default branch
          'buildah push "$CI_PROJECT_NAME:$CI_COMMIT_SHORT_SHA" oci-archive:image.tar',
        ],
        artifacts: { expire_in: '1 day', paths: ['image.tar'] },
      },
      'image-scan': {
        stage: 'scan',
        image: { name: STACK_IMAGES.trivy(STACK_TOOL_VERSIONS.trivy), entrypoint: [''] },
        needs: ['image-build'],
        allow_failure: true,
        variables: { TRIVY_CACHE_DIR: '.trivycache/' },
        cache: { key: 'trivy', paths: ['.trivycache/'] },
        script: ['trivy image --input image.tar --exit-code 1 --severity HIGH,CRITICAL --ignore-unfixed'],
        rules: scanRules(),
      },
    },
  };
}

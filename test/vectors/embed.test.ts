import { describe, expect, it } from 'vitest';
import { EMBEDDING_DIMENSION, embedConfiguration, embedRepository } from '../../src/vectors/embed.js';
import { cosineDistance } from '../../src/vectors/validateRecords.js';

const goGin = `stages:
  - compile
  - test
  - build
  - learn

variables:
  CGO_ENABLED: "0"

compile:
  stage: compile
  image: registry.local:5001/demo/golang:1.21-alpine
  script:
    - go mod download
    - go build -o app ./...

test:
  stage: test
  image: registry.local:5001/demo/golang:1.21-alpine
  script:
    - go test ./... -coverprofile=cover.out
  artifacts:
    reports:
      junit: report.xml

build_image:
  stage: build
  image: docker:24
  services:
    - docker:24-dind
  script:
    - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .
    - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA

learn_record:
  stage: learn
  image: curlimages/curl:latest
  script:
    - curl -fsS -X POST "$PIPELINE_LEARNER_URL/api/v1/pipeline/learn/record"
`;

// Same stack, a few edits: another Go version, a lint job, no learn job.
const goGinVariant = `stages: [compile, lint, test, build]
compile:
  stage: compile
  image: golang:1.22
  script: [go build ./...]
lint:
  stage: lint
  image: golangci/golangci-lint:v1.59
  script: [golangci-lint run]
test:
  stage: test
  image: golang:1.22
  script: [go test -race ./...]
build_image:
  stage: build
  image: docker:24
  services: [docker:24-dind]
  script:
    - docker build -t $CI_REGISTRY_IMAGE .
`;

const pythonFastapi = `stages: [install, test, deploy]
default:
  image: python:3.12-slim
install:
  stage: install
  script:
    - pip install -r requirements.txt
test:
  stage: test
  script:
    - pip install -r requirements.txt
    - pytest -q --junitxml=report.xml
deploy:
  stage: deploy
  script:
    - uvicorn --version
  when: manual
`;

const nodeNext = `stages: [install, test, build]
install:
  stage: install
  image: node:20
  script: [npm ci]
  cache:
    paths: [node_modules/]
test:
  stage: test
  image: node:20
  script: [npm test]
build:
  stage: build
  image: node:20
  script: [npm run build]
`;

const go = (config: string) => embedConfiguration({ language: 'go', framework: 'gin', config });

function norm(v: number[]) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe('embedConfiguration', () => {
  it('is deterministic, of fixed dimension and unit length', () => {
    const a = go(goGin);
    const b = go(goGin);
    expect(a).toEqual(b);
    expect(a).toHaveLength(EMBEDDING_DIMENSION);
    expect(norm(a)).toBeCloseTo(1, 10);
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it("a kept embedding is a copy: changing one caller's array does not change the next", () => {
    const a = go(goGin);
    const copy = [...a];
    a.fill(0);
    expect(go(goGin)).toEqual(copy);
    // every input is part of the key: another Dockerfile, another framework give another vector
    const withDockerfile = embedConfiguration({
      language: 'go',
      framework: 'gin',
      config: goGin,
      extra: { dockerfile: 'FROM golang:1.22\nRUN go build ./...\n' },
    });
    expect(withDockerfile).not.toEqual(copy);
    expect(embedConfiguration({ language: 'go', framework: 'echo', config: goGin })).not.toEqual(copy);
  });

  it('puts similar configurations of one stack closer than other stacks', () => {
    const base = go(goGin);
    const variant = go(goGinVariant);
    const python = embedConfiguration({ language: 'python', framework: 'fastapi', config: pythonFastapi });
    const node = embedConfiguration({ language: 'node', framework: 'nextjs', config: nodeNext });
    const dVariant = cosineDistance(base, variant);
    expect(dVariant).toBeLessThan(cosineDistance(base, python));
    expect(dVariant).toBeLessThan(cosineDistance(base, node));
    expect(dVariant).toBeLessThan(0.5);
    expect(cosineDistance(base, python)).toBeGreaterThan(0.6);
  });

  it('tells two pipelines of the same stack apart by what they contain', () => {
    const base = go(goGin);
    const withoutDocker = go(goGin.replace(/build_image:[\s\S]*?(?=learn_record:)/, ''));
    const scriptsChanged = go(goGin.replace('go test ./...', 'gotestsum --junitfile report.xml'));
    expect(cosineDistance(base, withoutDocker)).toBeGreaterThan(0.01);
    expect(cosineDistance(base, scriptsChanged)).toBeGreaterThan(0.001);
    // a small edit moves the vector less than dropping a whole job
    expect(cosineDistance(base, scriptsChanged)).toBeLessThan(cosineDistance(base, withoutDocker));
  });

  it('weighs the framework: same language, other framework is farther than same framework', () => {
    const gin = go(goGinVariant);
    const ginAgain = go(goGin);
    const echo = embedConfiguration({ language: 'go', framework: 'echo', config: goGin });
    expect(cosineDistance(ginAgain, echo)).toBeGreaterThan(0);
    expect(cosineDistance(ginAgain, echo)).toBeLessThan(
      cosineDistance(ginAgain, embedConfiguration({ language: 'python', framework: 'gin', config: goGin })),
    );
    expect(cosineDistance(gin, ginAgain)).toBeLessThan(
      cosineDistance(gin, embedConfiguration({ language: 'python', framework: 'fastapi', config: goGin })),
    );
  });

  it('still embeds a configuration that is not valid YAML, near its valid twin', () => {
    const broken = `${goGin}\n  bad: [unclosed\n`;
    const v = go(broken);
    expect(norm(v)).toBeCloseTo(1, 10);
    expect(cosineDistance(v, go(goGin))).toBeLessThan(
      cosineDistance(v, embedConfiguration({ language: 'python', framework: 'fastapi', config: pythonFastapi })),
    );
  });

  it('ignores comments and key order but not image tags', () => {
    const reordered = goGin.replace(
      'variables:\n  CGO_ENABLED: "0"\n',
      '# build settings\nvariables:\n  CGO_ENABLED: "0" # static\n',
    );
    expect(cosineDistance(go(goGin), go(reordered))).toBeCloseTo(0, 10);
    const retagged = go(goGin.replaceAll('golang:1.21-alpine', 'golang:1.22-alpine'));
    const d = cosineDistance(go(goGin), retagged);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.1);
  });

  it('uses extras: build tool, Dockerfile and free features move the vector', () => {
    const plain = go(goGin);
    const withDocker = embedConfiguration({
      language: 'go',
      framework: 'gin',
      config: goGin,
      extra: { buildTool: 'go', dockerfile: 'FROM golang:1.21-alpine AS build\nRUN go build -o /app\nFROM scratch\n' },
    });
    expect(cosineDistance(plain, withDocker)).toBeGreaterThan(0.01);
  });

  it('handles an empty configuration and GitLab tags like !reference', () => {
    expect(norm(embedConfiguration({ language: 'go', config: '' }))).toBeCloseTo(1, 10);
    const withRef = `.setup:\n  script: [go mod download]\ntest:\n  stage: test\n  script:\n    - !reference [.setup, script]\n    - go test ./...\n`;
    expect(norm(go(withRef))).toBeCloseTo(1, 10);
  });
});

describe('embedRepository', () => {
  it('finds the configuration of its own stack nearest', () => {
    const repo = embedRepository({
      language: 'go',
      framework: 'gin',
      buildTool: 'go',
      dependencies: ['github.com/gin-gonic/gin'],
      files: ['go.mod', 'main.go', 'Dockerfile'],
      hasDockerfile: true,
    });
    expect(repo).toHaveLength(EMBEDDING_DIMENSION);
    expect(norm(repo)).toBeCloseTo(1, 10);
    const candidates = {
      go: go(goGin),
      python: embedConfiguration({ language: 'python', framework: 'fastapi', config: pythonFastapi }),
      node: embedConfiguration({ language: 'node', framework: 'nextjs', config: nodeNext }),
    };
    const ranked = Object.entries(candidates).sort((a, b) => cosineDistance(repo, a[1]) - cosineDistance(repo, b[1]));
    expect(ranked[0][0]).toBe('go');

    const nodeRepo = embedRepository({ language: 'node', framework: 'nextjs', buildTool: 'npm' });
    const nodeRanked = Object.entries(candidates).sort(
      (a, b) => cosineDistance(nodeRepo, a[1]) - cosineDistance(nodeRepo, b[1]),
    );
    expect(nodeRanked[0][0]).toBe('node');
  });

  it('is deterministic for equal analyses', () => {
    const a = embedRepository({ language: 'python', framework: 'django', dependencies: ['django', 'celery'] });
    const b = embedRepository({ language: 'python', framework: 'django', dependencies: ['django', 'celery'] });
    expect(a).toEqual(b);
    expect(cosineDistance(a, embedRepository({ language: 'python', framework: 'flask' }))).toBeGreaterThan(0);
  });
});

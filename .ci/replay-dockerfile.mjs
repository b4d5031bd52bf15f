#!/usr/bin/env node
// Replays the Dockerfile without a Docker engine: each stage gets a folder standing for its root,
// WORKDIR/COPY (from the build context or `--from=<stage>`) are carried out there, and RUN steps
// run with `sh -c` in the stage's working directory — except in the final stage, whose RUN steps
// (chown of /data and the like) touch the real root and are listed instead. Prints the path of the
// final stage's working directory: the tree the image would run.
//
//   node .ci/replay-dockerfile.mjs [Dockerfile] [out-dir]
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

const dockerfile = resolve(process.argv[2] ?? 'Dockerfile');
const context = dirname(dockerfile);
const out = resolve(process.argv[3] ?? mkdtempSync(join(tmpdir(), 'pl-image-')));

const lines = readFileSync(dockerfile, 'utf8')
  .replace(/\\\r?\n/g, ' ')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const stages = [];
for (const line of lines) {
  const [, instr, rest] = /^(\S+)\s*(.*)$/.exec(line);
  const op = instr.toUpperCase();
  if (op === 'FROM') {
    const name = /\bAS\s+(\S+)/i.exec(rest)?.[1] ?? `stage${stages.length}`;
    stages.push({ name, steps: [] });
  } else if (stages.length) stages.at(-1).steps.push({ op, rest });
}
if (!stages.length) throw new Error(`${dockerfile}: no FROM`);

const roots = new Map();
let workdir = '/';
for (const [i, stage] of stages.entries()) {
  const root = join(out, stage.name);
  mkdirSync(root, { recursive: true });
  roots.set(stage.name, root);
  const last = i === stages.length - 1;
  workdir = '/';
  for (const { op, rest } of stage.steps) {
    if (op === 'WORKDIR') {
      workdir = resolve(workdir, rest);
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (op === 'COPY') {
      const words = rest.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const args = words.filter((w) => !w.startsWith('--'));
      const dest = args.pop();
      const base = from ? roots.get(from) : context;
      if (!base) throw new Error(`COPY --from=${from}: no such stage`);
      for (const src of args) {
        const source = from ? join(base, resolve('/', src)) : join(base, src);
        if (!existsSync(source)) throw new Error(`COPY ${src}: ${source} does not exist`);
        const target = dest.endsWith('/') || args.length > 1 ? join(root, resolve(workdir, dest), basename(src)) : join(root, resolve(workdir, dest));
        mkdirSync(dirname(target), { recursive: true });
        cpSync(source, target, { recursive: true });
      }
    } else if (op === 'RUN') {
      if (last) {
        process.stderr.write(`replay: final-stage RUN not replayed (it acts on the image's root): ${rest}\n`);
        continue;
      }
      process.stderr.write(`replay [${stage.name}] ${workdir}$ ${rest}\n`);
      execSync(rest, { cwd: join(root, workdir), stdio: ['ignore', 2, 2], shell: '/bin/sh' });
    }
  }
}
process.stdout.write(`${join(roots.get(stages.at(-1).name), workdir)}\n`);

// Child processes for the benchmarks: services, the fake GitLab, resident-set sampling, HTTP posts.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set of a process and all its descendants, in MB. */
export function treeRssMb(pid) {
  const parents = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(d), ppid);
    } catch {}
  }
  const tree = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, pp] of parents)
      if (!tree.has(p) && tree.has(pp)) {
        tree.add(p);
        grew = true;
      }
  }
  let kb = 0;
  for (const p of tree) kb += rssKb(p);
  return Math.round(kb / 1024);
}

/** Starts a child and resolves with its URL once it prints "listening on <url>". */
export function startChild(args, env) {
  // BENCH_CPU_PROF=<dir>: every child writes a V8 CPU profile there when it exits (open it in Chrome's DevTools)
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (d) => {
    if (out.length < 200_000) out += String(d);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 180_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then((code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  return { child, url, exited, output: () => out };
}

export function startFakeGitLab(dir) {
  const child = spawn(process.execPath, [join(root, 'bench/support/fakeGitLabServer.mjs'), dir], {
    cwd: root,
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ ...JSON.parse(out.slice(0, nl)), child });
    });
    child.on('exit', (code) => reject(new Error(`fake GitLab exited with ${code}`)));
  });
}

export function post(agent, url, body, headers) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on('error', (err) =>
      resolve({ status: 0, code: err.code, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
    );
    req.end(body);
  });
}

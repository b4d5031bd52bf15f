import { errorMessage, UserFacingError } from './errors.js';
import { VERSION } from './version.js';

/** What a CLI command gets: argv after the command name, and the streams it writes to. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** standard input, read whole (for `-` file arguments) */
  readStdin: () => Promise<string>;
}

export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** name → lazily imported module under src/cli/ exporting `run` and `help` */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: CliCommand; help: string }> }> = {
  serve: { summary: 'run the webhook service, worker and API', load: () => import('./cli/serve.js') },
  migrate: { summary: 'apply database migrations and exit', load: () => import('./cli/migrate.js') },
  generate: { summary: 'propose a .gitlab-ci.yml for a local checkout', load: () => import('./cli/generate.js') },
  'learn-stage': { summary: 'add the learn stage to a .gitlab-ci.yml', load: () => import('./cli/learnStage.js') },
  templates: { summary: 'import your own pipeline templates', load: () => import('./cli/templates.js') },
  jobs: { summary: 'list, retry or purge dead-lettered jobs', load: () => import('./cli/jobs.js') },
  simulate: { summary: 'run every bandit policy on a scenario', load: () => import('./cli/simulate.js') },
  decisions: { summary: 'export the decision log as JSON lines', load: () => import('./cli/decisions.js') },
  evaluate: { summary: 'estimate a policy offline from the decision log', load: () => import('./cli/evaluate.js') },
  learner: { summary: 'operator actions: ban, unban, forget', load: () => import('./cli/learner.js') },
  report: { summary: 'what the learner knows, per stack, in the terminal', load: () => import('./cli/report.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `Usage: pipeline-learner <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`pipeline-learner <command> --help\` for a command's options.\n`;
}

export function processIo(): CliIo {
  // `pipeline-learner … | head` closes the pipe early: that is not an error
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Exit codes: 0 success, 1 failure, 2 bad input. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr(`pipeline-learner: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(mod.help.endsWith('\n') ? mod.help : `${mod.help}\n`);
    return 0;
  }
  if (rest.includes('--version')) {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  try {
    return await mod.run(rest, io);
  } catch (err) {
    if (err instanceof UserFacingError) {
      io.stderr(`pipeline-learner ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`pipeline-learner ${name}: ${errorMessage(err)}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

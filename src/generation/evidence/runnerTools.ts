/**
 * Tools GitHub's hosted Ubuntu runners preinstall, which a workflow calls without installing them and
 * a GitLab job's image usually lacks. A translated job that calls one installs it first, guarded by
 * `command -v` so an image (or a shell runner) that has it skips the install.
 */

interface RunnerTool {
  /** the command as it appears in a `run:` step */
  command: string;
  /** how a job installs it: `pip` for Python tools, else Debian packages */
  install: { pip: string } | { apt: string[] };
  /** the tool is also needed when an env variable names it (CC: clang) */
  envValue?: RegExp;
}

export const RUNNER_TOOLS: readonly RunnerTool[] = [
  { command: 'pipx', install: { pip: 'pipx' } },
  { command: 'jq', install: { apt: ['jq'] } },
  { command: 'yq', install: { apt: ['yq'] } },
  { command: 'clang', install: { apt: ['clang'] }, envValue: /^clang(\+\+)?(-\d+)?$/ },
  { command: 'clang++', install: { apt: ['clang'] } },
  { command: 'clang-format', install: { apt: ['clang-format'] } },
  { command: 'clang-tidy', install: { apt: ['clang-tidy'] } },
  { command: 'cmake', install: { apt: ['cmake'] } },
  { command: 'ninja', install: { apt: ['ninja-build'] } },
  { command: 'meson', install: { apt: ['meson', 'ninja-build'] } },
  { command: 'valgrind', install: { apt: ['valgrind'] } },
  { command: 'shellcheck', install: { apt: ['shellcheck'] } },
  { command: 'zip', install: { apt: ['zip'] } },
  { command: 'unzip', install: { apt: ['unzip'] } },
  { command: 'rsync', install: { apt: ['rsync'] } },
  { command: 'xvfb-run', install: { apt: ['xvfb'] } },
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches a command at the start of a shell word: line start, after `;`, `&&`, `|`, `(`, or a space. */
function calls(script: string, command: string): boolean {
  return new RegExp(`(^|[\\s;&|(\`])${escapeRegExp(command)}(?=$|[\\s;&|)\`])`, 'm').test(script);
}

/**
 * The `before_script` lines that install the preinstalled-on-GitHub tools a translated job uses.
 * `script` is the job's commands; `env` its variables (CC/CXX name a compiler).
 */
export function runnerToolInstalls(script: string, env: Record<string, string>): string[] {
  const apt = new Set<string>();
  const checks: string[] = [];
  const lines: string[] = [];
  const envValues = Object.values(env).map((v) => v.trim());
  for (const tool of RUNNER_TOOLS) {
    const used = calls(script, tool.command) || (tool.envValue && envValues.some((v) => tool.envValue!.test(v)));
    if (!used) continue;
    if ('pip' in tool.install) {
      lines.push(
        `command -v ${tool.command} >/dev/null || pip install -q ${tool.install.pip}`,
        'export PATH="$HOME/.local/bin:$PATH"',
      );
    } else {
      for (const p of tool.install.apt) apt.add(p);
      checks.push(tool.command);
    }
  }
  if (apt.size > 0) {
    const missing = checks.map((c) => `command -v ${c} >/dev/null`).join(' && ');
    lines.push(
      `${missing} || (apt-get update -qq && apt-get install -y -qq --no-install-recommends ${[...apt].join(' ')} > /dev/null)`,
    );
  }
  return [...new Set(lines)];
}

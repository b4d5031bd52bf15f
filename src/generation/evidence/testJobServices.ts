import type { Automation } from './collectAutomation.js';
import { TEST_COMMAND } from './githubActions.js';
import { gitlabServices } from './services.js';

type Job = Record<string, unknown>;

/**
 * Gives every test-stage job the services its tests need, the variables that point the project's
 * settings at them, and the framework's migration step before the test command. Jobs are changed
 * in place; hidden base jobs are left alone so lint and build jobs start no databases.
 */
export function addTestServices(jobs: Record<string, Job>, automation: Automation | undefined): void {
  if (!automation || automation.services.length === 0) return;
  const { services, variables } = gitlabServices(automation.services, automation.serviceEnv);
  for (const [name, job] of Object.entries(jobs)) {
    if (name.startsWith('.') || job.stage !== 'test') continue;
    job.services = structuredClone(services);
    job.variables = { ...((job.variables as Record<string, string> | undefined) ?? {}), ...variables };
    const script = job.script as string[] | undefined;
    const before = [...automation.serviceSetup, ...(automation.migrate ? [automation.migrate] : [])];
    if (before.length > 0 && Array.isArray(script) && script.length > 0) {
      // before the line that runs the tests; setup lines (e.g. Laravel's .env) stay first
      const at = script.findIndex((l) => TEST_COMMAND.test(l));
      script.splice(at >= 0 ? at : script.length - 1, 0, ...before);
    }
  }
}

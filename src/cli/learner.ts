import type { CliIo } from '../cli.js';

// placeholder until the owner of this command lands it
export const help = 'pipeline-learner learner';
export async function run(_argv: string[], io: CliIo): Promise<number> {
  io.stderr('not yet implemented\n');
  return 1;
}

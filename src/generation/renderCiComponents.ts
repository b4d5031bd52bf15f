import { Document } from 'yaml';
import { BUILT_IN_STACKS, builtInTemplates, syntheticAnalysis } from './builtInTemplates.js';
import { containerFragment, type Fragment, STAGES, stackFragment } from './composeDefaultPipeline.js';
import { proposeDockerfile } from './proposeDockerfile.js';

const HEADER =
  '# Rendered from src/generation (composeDefaultPipeline, proposeDockerfile) with typical facts.\n' +
  '# Edit the code and run `UPDATE_CI_COMPONENTS=1 npx vitest run test/generation/ciComponents.test.ts`.\n';

function renderFragment(f: Fragment): string {
  const used = new Set(Object.values(f.jobs).map((j) => j.stage as string | undefined));
  const doc = new Document({ stages: STAGES.filter((s) => used.has(s)), ...f.jobs });
  return `${HEADER}# Fragment "${f.name}": ${f.description}.\n${doc.toString({ lineWidth: 0 })}`;
}

/** Every file of ci-components/ (except README.md), keyed by path relative to that folder. */
export function renderCiComponents(): Map<string, string> {
  const out = new Map<string, string>();
  const richest = new Map<string, Fragment>();
  for (const s of BUILT_IN_STACKS) {
    const f = stackFragment(syntheticAnalysis(s.language, s.framework, s.facts));
    const prev = richest.get(f.name);
    if (!prev || Object.keys(f.jobs).length > Object.keys(prev.jobs).length) richest.set(f.name, f);
  }
  for (const [name, f] of richest) out.set(`fragments/${name}.yml`, renderFragment(f));
  out.set('fragments/container-build.yml', renderFragment(containerFragment('Dockerfile')));
  for (const t of builtInTemplates()) out.set(`defaults/${t.id}.yml`, t.config);
  const dockerfiles = new Set<string>();
  for (const s of BUILT_IN_STACKS) {
    if (dockerfiles.has(s.language)) continue;
    const d = proposeDockerfile(syntheticAnalysis(s.language, s.framework, s.facts));
    if (d) {
      dockerfiles.add(s.language);
      out.set(`dockerfiles/${s.language}.Dockerfile`, d);
    }
  }
  return out;
}

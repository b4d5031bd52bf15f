import type { Proposal } from './CommandDeps.js';
import { diffLines } from './diffLines.js';
import { codeBlock, folded, htmlCode, inlineCode, percent, shortSha } from './markdown.js';

const STATUS_TEXT: Record<Proposal['status'], string> = {
  generated: 'not committed yet',
  approved: 'approved, commit in progress',
  committed: 'committed, waiting for its pipeline',
  succeeded: 'committed, its pipeline passed',
  failed: 'committed, its pipeline failed',
  rolled_back: 'rolled back',
};

export function describeSource(p: Pick<Proposal, 'source' | 'sourceLabel'>): string {
  const name = p.source === 'learned' ? 'learned from this GitLab' : p.source;
  return p.sourceLabel ? `${name} (${p.sourceLabel})` : name;
}

export function describeConfidence(c: Proposal['confidence']): string {
  if (!c) return 'no runs yet';
  const runs = Math.round(c.runs * 10) / 10;
  return `${percent(c.mean)} expected success (90% interval ${percent(c.low)}–${percent(c.high)}, ${runs} run${runs === 1 ? '' : 's'})`;
}

/** The proposal as a comment: summary on top, files folded, and the exact next command last. */
export function renderProposal(
  p: Proposal,
  current: string | null,
  options: { fork: boolean; showStatus: boolean; alternatives?: Array<{ number: number; label: string }> },
): string {
  const out: string[] = [];
  out.push(`### Proposal ${p.number}: ${p.language} / ${p.framework}`);
  out.push('');
  if (options.showStatus)
    out.push(`**Status:** ${STATUS_TEXT[p.status]}${p.commitSha ? ` (commit ${shortSha(p.commitSha)})` : ''}`);
  out.push(`**Source:** ${describeSource(p)}  `);
  out.push(`**Confidence:** ${describeConfidence(p.confidence)}  `);
  out.push(
    `**Decision:** ${p.decisionId ? inlineCode(p.decisionId) : 'not logged'} · **Configuration:** ${inlineCode(p.hash.slice(0, 12))}`,
  );
  if (p.evidence.length > 0) {
    out.push('');
    out.push('**Detected:**');
    for (const e of p.evidence.slice(0, 12)) out.push(`- ${e.replace(/\n/g, ' ')}`);
    if (p.evidence.length > 12) out.push(`- … and ${p.evidence.length - 12} more`);
  }
  if (p.validation) {
    out.push('');
    if (p.validation.valid && p.validation.warnings.length === 0) out.push('**Validation:** passed.');
    else if (p.validation.valid) out.push(`**Validation:** passed with warnings: ${p.validation.warnings.join('; ')}`);
    else out.push(`**Validation:** failed: ${p.validation.errors.join('; ')}`);
  }
  out.push('');
  const lines = p.config.split('\n').length;
  out.push(folded(`${htmlCode(p.configPath)} (${lines} lines)`, codeBlock(p.config, 'yaml')));
  if (current !== null) {
    const diff = diffLines(current, p.config);
    out.push('');
    if (diff === '') out.push(`The branch's ${inlineCode(p.configPath)} already has exactly this content.`);
    else if (diff === null)
      out.push(`The branch already has a ${inlineCode(p.configPath)}; it is too long to show a diff.`);
    else {
      const added = diff.split('\n').filter((l) => l.startsWith('+')).length;
      const removed = diff.split('\n').filter((l) => l.startsWith('-')).length;
      out.push(
        folded(
          `Change against the branch's ${htmlCode(p.configPath)} (+${added} −${removed})`,
          codeBlock(diff, 'diff'),
        ),
      );
    }
  } else {
    out.push('');
    out.push(`The branch has no ${inlineCode(p.configPath)} yet; approving creates it.`);
  }
  if (p.dockerfile) {
    out.push('');
    out.push(
      folded(
        `${htmlCode('Dockerfile')} (${p.dockerfile.split('\n').length} lines)`,
        codeBlock(p.dockerfile, 'dockerfile'),
      ),
    );
  }
  for (const alt of options.alternatives ?? []) {
    out.push('');
    out.push(
      `**Alternative:** proposal ${alt.number}, ${alt.label.replace(/\n/g, ' ')} (no runs yet). See it with ${inlineCode(`/pipeline show ${alt.number}`)}.`,
    );
  }
  out.push('');
  if (options.fork) {
    out.push(
      'This merge request comes from a fork, which the bot cannot push to: copy the file into your branch yourself. The bot still reports how its pipeline does.',
    );
  } else if (p.status === 'generated') {
    out.push('React with :thumbsup: or :thumbsdown: on this comment to tell the learner what you think.');
    out.push('');
    out.push(`Next: ${inlineCode(`/pipeline approve ${p.number}`)} commits it to ${inlineCode(p.branch)}.`);
  } else if (p.status === 'rolled_back') {
    out.push(`Next: ${inlineCode('/pipeline generate')} for a new proposal.`);
  } else {
    out.push(`Next: ${inlineCode('/pipeline status')} shows its pipeline.`);
  }
  return out.join('\n');
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ServiceMetrics } from '../../src/metrics/ServiceMetrics.js';

const docs = fileURLToPath(new URL('../../docs/grafana/', import.meta.url));

/** Every metric name the service can export (process metrics included). */
async function exported(): Promise<Set<string>> {
  const m = new ServiceMetrics({
    source: {
      queue: async () => [],
      decisions: async () => [],
      rewards: async () => [],
      topArms: async () => [],
    },
  });
  const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
  return new Set(names);
}

function referenced(exprs: string[]): string[] {
  const names = exprs.flatMap((e) => [...e.matchAll(/\bpipeline_learner_[a-z0-9_]+/g)].map((x) => x[0]));
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))].sort();
}

describe('the Grafana board and the alert rules', () => {
  it('the board queries only metrics the service exports', async () => {
    const board = JSON.parse(readFileSync(`${docs}pipeline-learner-dashboard.json`, 'utf8'));
    const exprs: string[] = board.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
    const names = referenced(exprs);
    expect(names.length).toBeGreaterThan(10);
    const known = await exported();
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('the alert rules use only exported metrics, and cover queue age, dead letters, 401s and 429s', async () => {
    const rules = parse(readFileSync(`${docs}alerts.yml`, 'utf8')).groups[0].rules as { alert: string; expr: string }[];
    const known = await exported();
    expect(referenced(rules.map((r) => r.expr)).filter((n) => !known.has(n))).toEqual([]);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'PipelineLearnerQueueStuck',
        'PipelineLearnerDeadLetters',
        'PipelineLearnerWebhook401Spike',
        'PipelineLearnerGitLab429',
      ]),
    );
  });
});

import type { Db } from './db/database.js';
import { successfulConfigurations } from './db/runs.js';
import { builtInTemplates, type TemplateRecord } from './generation/builtInTemplates.js';
import type { LearnedSource, TemplateSource } from './generation/generatePipeline.js';
import type { ArmCandidate, LearningContext } from './learning/Chooser.js';
import { buildTemplateRecord, extractConfigFromDocument } from './vectors/seedDocuments.js';
import { COLLECTIONS, type VectorIndex, type VectorRecord, type Where } from './vectors/VectorIndex.js';

/**
 * Learned candidates: configurations that succeeded in this tenant's pipelines for the stack, as
 * recorded by the webhook path. Other tenants' configurations are offered only when sharing is on.
 */
export function learnedSource(db: Db, options: { shareAcrossTenants: boolean; limit?: number }): LearnedSource {
  return {
    async learned(ctx: LearningContext): Promise<ArmCandidate[]> {
      const rows = await successfulConfigurations(db, {
        language: ctx.language,
        framework: ctx.framework,
        tenant: options.shareAcrossTenants ? undefined : ctx.tenant,
        limit: options.limit ?? 50,
      });
      return rows.map((r) => ({
        hash: r.hash,
        source: 'learned' as const,
        config: r.content,
        dockerfile: r.dockerfile,
        label: `learned from ${r.projectPath} pipeline ${r.pipelineId}`,
        stagesCount: r.stagesCount,
        lastDurationS: r.durationS,
      }));
    },
  };
}

function toTemplate(r: VectorRecord): TemplateRecord | null {
  const config = extractConfigFromDocument(r.document);
  if (!config) return null;
  const m = r.metadata;
  const builtin = m.source === 'builtin';
  const description = /^Description: (.*)$/m.exec(r.document)?.[1] ?? '';
  return {
    id: builtin ? String(m.name) : `user:${String(m.name)}`,
    language: String(m.language),
    framework: String(m.framework),
    config,
    dockerfile: null,
    description,
    builtin,
  };
}

function templateName(t: TemplateRecord): string {
  return t.id.replace(/^user:/, '');
}

/** The `pipeline_templates` collection (Chroma or embedded) as the generator's template source and the CLI's store. */
export class VectorTemplateStore implements TemplateSource {
  constructor(private readonly vectors: VectorIndex) {}

  async templates(language: string, framework: string | null): Promise<TemplateRecord[]> {
    const where: Where = framework ? { language, framework } : { language };
    const records = await this.vectors.list(COLLECTIONS.templates, { where, limit: 500 });
    return records
      .map(toTemplate)
      .filter((t): t is TemplateRecord => t !== null)
      .sort((a, b) => Number(a.builtin) - Number(b.builtin) || a.id.localeCompare(b.id));
  }

  async upsert(templates: TemplateRecord[]): Promise<number> {
    if (templates.length === 0) return 0;
    await this.vectors.upsert(
      COLLECTIONS.templates,
      templates.map((t) =>
        buildTemplateRecord({
          language: t.language,
          framework: t.framework,
          name: templateName(t),
          source: t.builtin ? 'builtin' : 'user',
          config: t.config,
          description: t.description || undefined,
        }),
      ),
    );
    return templates.length;
  }

  async list(): Promise<TemplateRecord[]> {
    const records = await this.vectors.list(COLLECTIONS.templates, { limit: 10_000 });
    return records
      .map(toTemplate)
      .filter((t): t is TemplateRecord => t !== null)
      .sort((a, b) => a.language.localeCompare(b.language) || a.id.localeCompare(b.id));
  }

  /** Seeds the collection with the built-in defaults that are missing or changed; returns how many were written. */
  async seedBuiltIns(): Promise<number> {
    const wanted = builtInTemplates();
    const records = wanted.map((t) =>
      buildTemplateRecord({
        language: t.language,
        framework: t.framework,
        name: templateName(t),
        source: 'builtin',
        config: t.config,
        description: t.description || undefined,
      }),
    );
    const existing = new Map(
      (
        await this.vectors.get(
          COLLECTIONS.templates,
          records.map((r) => r.id),
        )
      ).map((r) => [r.id, r.document]),
    );
    const stale = records.filter((r) => existing.get(r.id) !== r.document);
    if (stale.length) await this.vectors.upsert(COLLECTIONS.templates, stale);
    return stale.length;
  }
}

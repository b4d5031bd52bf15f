import { type Assistant, type ChatScope, createAssistant } from './chat/assistant.js';
import type {
  AssistantPort,
  AssistantRequest,
  CommandStore,
  LearnerPort,
  ProposalGenerator,
} from './commands/CommandDeps.js';
import type { Config } from './config.js';
import type { ChatStore } from './db/chatStore.js';
import { type ArmStanding, type EmbeddingStore, type LlmArmSource, llmArmSource } from './generation/llmCandidate.js';
import type { GitLab } from './gitlab/GitLab.js';
import type { LearningContext } from './learning/Chooser.js';
import { checkOllama } from './llm/checkOllama.js';
import { createLlm } from './llm/createLlm.js';
import { type Embedder, type Llm, LlmError } from './llm/Llm.js';
import { embeddingCollection } from './vectors/embeddingCollection.js';
import { COLLECTIONS, type VectorIndex } from './vectors/VectorIndex.js';

/**
 * The embedding model's vectors of candidate configurations, kept in its own collections (issue 12:
 * `successful_pipelines_<model>` for learned configurations, `pipeline_templates_<model>` for the
 * others), so vectors of different dimensions never share a collection with the feature-hashing ones.
 */
export function vectorEmbeddingStore(vectors: VectorIndex, model: string): EmbeddingStore {
  const collectionOf = (source: string) =>
    embeddingCollection(source === 'learned' ? COLLECTIONS.successful : COLLECTIONS.templates, model);
  return {
    async get(candidates) {
      const out = new Map<string, number[]>();
      const bySource = new Map<string, string[]>();
      for (const c of candidates)
        bySource.set(collectionOf(c.source), [...(bySource.get(collectionOf(c.source)) ?? []), c.hash]);
      for (const [collection, ids] of bySource)
        for (const r of await vectors.get(collection, ids)) out.set(r.id, r.embedding);
      return out;
    },
    async put(items) {
      const bySource = new Map<string, typeof items>();
      for (const it of items)
        bySource.set(collectionOf(it.candidate.source), [
          ...(bySource.get(collectionOf(it.candidate.source)) ?? []),
          it,
        ]);
      for (const [collection, list] of bySource)
        await vectors.upsert(
          collection,
          list.map((it) => ({
            id: it.candidate.hash,
            document: it.candidate.config,
            embedding: it.embedding,
            metadata: {
              language: it.language,
              framework: it.framework,
              source: it.candidate.source,
              embed_model: model,
            },
          })),
        );
    },
  };
}

/**
 * Composition of the local LLM (issue 12), used by `serve` and the CLI: the Ollama client when
 * OLLAMA_HOST is set, the LLM arm of generation, the startup check, and the assistant behind
 * `/pipeline ask`, `/pipeline explain` and the chat API. Without OLLAMA_HOST every part is null and
 * the service works as before, and says so once at start.
 */
export interface LlmWiring {
  llm: Llm | null;
  embedder: Embedder | null;
  /** models the startup check wants pulled */
  models: string[];
  /** the LLM arm for generatePipeline; null without OLLAMA_HOST */
  armSource: LlmArmSource | null;
}

export function buildLlmWiring(
  config: Pick<Config, 'ollama' | 'llm'>,
  learner: { arms(context: LearningContext): Promise<ArmStanding[]> } | null,
  options: { fetch?: typeof fetch; llm?: Llm | null; vectors?: VectorIndex | null } = {},
): LlmWiring {
  const created = createLlm(config, { fetch: options.fetch });
  const llm = options.llm !== undefined ? options.llm : created.llm;
  if (!llm) return { llm: null, embedder: null, models: [], armSource: null };
  return {
    llm,
    embedder: created.embedder,
    models: created.models,
    armSource: llmArmSource({
      llm,
      repairRounds: config.llm.repairRounds,
      allowedRegistries: config.llm.allowedRegistries,
      embedder: created.embedder,
      embeddings:
        created.embedder && options.vectors ? vectorEmbeddingStore(options.vectors, created.embedder.model) : null,
      standings: async (context) => (learner ? learner.arms(context) : []),
    }),
  };
}

export interface StartupCheck {
  enabled: boolean;
  ok: boolean;
  /** one line for people: what works, and exactly what to run when something is missing */
  message: string;
}

/**
 * At start: is Ollama there, and is every configured model pulled (`/api/tags`)? The service starts
 * either way; the message says what to run. Without OLLAMA_HOST: says the LLM is off.
 */
export async function checkLlmAtStartup(
  config: Pick<Config, 'ollama'>,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<StartupCheck> {
  const o = config.ollama;
  if (!o)
    return {
      enabled: false,
      ok: true,
      message:
        'local LLM off (OLLAMA_HOST unset): generation, commands and the API work without it; /pipeline ask, /pipeline explain and /api/v1/chat answer that it is not configured',
    };
  const models = createLlm(config).models;
  const r = await checkOllama({ host: o.host, models, timeoutMs: options.timeoutMs ?? 5000, fetch: options.fetch });
  if (r.ok)
    return {
      enabled: true,
      ok: true,
      message: `local LLM ready: ${o.model} on ${o.host}${o.embedModel ? `, embeddings by ${o.embedModel}` : ''}`,
    };
  return {
    enabled: true,
    ok: false,
    message: `local LLM not usable yet: ${r.message}. The service runs; until then proposals say why no LLM candidate was made`,
  };
}

export interface AssistantWiring {
  assistant: Assistant;
  /** the commands' port: `/pipeline ask` (one chat session per MR) and `/pipeline explain` */
  port: AssistantPort;
}

export function buildAssistant(deps: {
  config: Pick<Config, 'llm' | 'bot'> & { learnStage: { component: string | null; serviceUrl: string | null } };
  llm: Llm;
  gitlab: GitLab;
  store: CommandStore;
  chats: ChatStore;
  generator: ProposalGenerator;
  learner: LearnerPort;
  secrets: readonly string[];
}): AssistantWiring {
  const assistant = createAssistant({
    llm: deps.llm,
    gitlab: deps.gitlab,
    store: deps.store,
    chats: deps.chats,
    generator: deps.generator,
    learner: deps.learner,
    bot: deps.config.bot,
    explain: {
      repairRounds: deps.config.llm.repairRounds,
      allowedRegistries: deps.config.llm.allowedRegistries,
      learnStage: deps.config.learnStage,
      secretValues: deps.secrets,
    },
  });
  const scopeFor = async (r: AssistantRequest): Promise<ChatScope> => {
    const project = await deps.gitlab.project(r.project.id);
    const session = await deps.chats.createSession({
      sessionId: `mr-${r.project.id}-${r.mr.iid}`,
      projectId: r.project.id,
      projectPath: r.project.path,
      mrIid: r.mr.iid,
      createdBy: r.user.username,
    });
    return { session, project, mr: r.mr };
  };
  return {
    assistant,
    port: {
      async ask(r) {
        const scope = await scopeFor(r);
        const out = await assistant.ask(scope, r.question, r.user.username).catch((err: unknown) => {
          if (err instanceof LlmError) return { content: '', toolCalls: 0, failed: err.message };
          throw err;
        });
        if ('failed' in out)
          return { body: `The local LLM could not answer: ${out.failed}. Nothing was changed; try again later.` };
        const text = out.content.trim() || `${deps.llm.model} gave no answer.`;
        return {
          body: `${text}\n\n<sub>Answered by a local LLM (${deps.llm.model}) with ${out.toolCalls} tool call(s); nothing was committed. Proposals it made still need \`/pipeline approve\`.</sub>`,
        };
      },
      async explain(r) {
        const scope = await scopeFor(r);
        const out = await assistant.explain(scope, r.pipelineId, r.user.username);
        return { body: out.body, ...(out.proposal ? { proposalId: out.proposal.id } : {}) };
      },
    },
  };
}

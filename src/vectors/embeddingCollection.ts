/**
 * One collection per embedding model, so vectors of different dimensions never mix (issue 12's pinned
 * decision): feature-hashing collections keep the seed names (`successful_pipelines`, …); collections
 * embedded by Ollama get a `_<model>` suffix, the model name reduced to what Chroma accepts in a name
 * (`nomic-embed-text:v1.5` → `successful_pipelines_nomic-embed-text_v1_5`; `:latest` is dropped).
 */
export function embeddingCollection(base: string, embedModel: string | null): string {
  if (!embedModel) return base;
  // `name` and `name:latest` are the same model to Ollama
  const suffix = embedModel
    .replace(/:latest$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '');
  // Chroma names are 3–512 characters of [a-zA-Z0-9._-], starting and ending with a letter or digit
  return `${base}_${suffix}`.slice(0, 512).replace(/[_-]+$/, '');
}

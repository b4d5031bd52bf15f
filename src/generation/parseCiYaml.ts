import { type CollectionTag, type Document, parseAllDocuments, type ScalarTag, YAMLSeq } from 'yaml';
import { UserFacingError } from '../errors.js';

/** A YAML syntax problem, located: the CLI prints `file:line:col: reason`. */
export class YamlSyntaxError extends UserFacingError {
  constructor(
    readonly line: number,
    readonly col: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${col}: ${reason}`, { exitCode: 2, status: 422, code: 'invalid_yaml' });
    this.name = 'YamlSyntaxError';
  }
}

/** GitLab's `!reference [job, key]`: kept as a tagged sequence so it round-trips untouched. */
const referenceTag: CollectionTag = {
  tag: '!reference',
  collection: 'seq',
  nodeClass: YAMLSeq,
  identify: () => false,
};

export const CI_CUSTOM_TAGS: Array<ScalarTag | CollectionTag> = [referenceTag];

/** Options that keep a file's look when it is written back: no re-folding, no padding added to flow collections. */
export const TO_STRING = { lineWidth: 0, flowCollectionPadding: false } as const;

/** Parses every document of a CI file; the first error (duplicate keys included) becomes a YamlSyntaxError. */
export function parseCiYaml(text: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, {
    customTags: CI_CUSTOM_TAGS,
    uniqueKeys: true,
    prettyErrors: true,
    // GitLab reads `<<: *anchor` merge keys (YAML 1.1)
    merge: true,
  });
  if (!Array.isArray(docs)) {
    // an empty stream
    return [];
  }
  for (const d of docs) {
    const err = d.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
      const reason = err.message.split(/ at line \d+, column \d+/)[0].trim();
      throw new YamlSyntaxError(pos.line, pos.col, reason);
    }
  }
  return docs;
}

/** The pipeline document of a CI file: the last one (an optional `spec:` header comes first). */
export function pipelineDocument(docs: Document.Parsed[]): Document.Parsed | null {
  return docs.length > 0 ? docs[docs.length - 1] : null;
}

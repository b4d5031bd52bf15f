import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestVerb, parseComment, VERBS } from '../../src/commands/parseComment.js';

const bot = { botUsername: 'pipeline-bot' };

describe('parseComment', () => {
  it('reads /pipeline commands with their arguments', () => {
    expect(parseComment('/pipeline generate --language python --framework=FastAPI', bot)).toEqual({
      kind: 'command',
      verb: 'generate',
      args: { language: 'python', framework: 'fastapi' },
      line: '/pipeline generate --language python --framework=FastAPI',
    });
    expect(parseComment('/pipeline approve 3 --force', bot)).toMatchObject({
      verb: 'approve',
      args: { proposal: 3, force: true },
    });
    expect(parseComment('/Pipeline commit #2', bot)).toMatchObject({ verb: 'commit', args: { proposal: 2 } });
    expect(parseComment('/pipeline rate 4 fast and green\nthanks!', bot)).toMatchObject({
      verb: 'rate',
      args: { rating: 4, text: 'fast and green\nthanks!' },
    });
    expect(parseComment('/pipeline feedback cache pip', bot)).toMatchObject({
      verb: 'feedback',
      args: { text: 'cache pip' },
    });
    expect(parseComment('/pipeline help approve', bot)).toMatchObject({ verb: 'help', args: { topic: 'approve' } });
  });

  it('reads generate --llm, ask with its question, and explain with a pipeline id', () => {
    expect(parseComment('/pipeline generate --llm', bot)).toMatchObject({ verb: 'generate', args: { llm: true } });
    expect(parseComment('/pipeline generate --llm=yes', bot)).toMatchObject({ kind: 'reply' });
    expect(parseComment('/pipeline ask why is it red?\nthe test job', bot)).toMatchObject({
      verb: 'ask',
      args: { question: 'why is it red?\nthe test job' },
    });
    expect(parseComment('/pipeline ask', bot)).toMatchObject({ kind: 'reply' });
    expect(parseComment('/pipeline explain', bot)).toMatchObject({ verb: 'explain', args: {} });
    expect(parseComment('/pipeline explain #4711', bot)).toMatchObject({ verb: 'explain', args: { pipeline: 4711 } });
    expect(parseComment('/pipeline explain the build', bot)).toMatchObject({ kind: 'reply' });
  });

  it('reads the @bot form, case-insensitively, and only for the bot', () => {
    expect(parseComment('@pipeline-bot status', bot)).toMatchObject({ kind: 'command', verb: 'status' });
    expect(parseComment('@Pipeline-Bot: show 2', bot)).toMatchObject({
      kind: 'command',
      verb: 'show',
      args: { proposal: 2 },
    });
    expect(parseComment('@pipeline-botty status', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('@someone status', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('@pipeline-bot status', {})).toEqual({ kind: 'ignore' });
  });

  it('ignores ordinary comments, mentions later in the text and commands not on the first line', () => {
    expect(parseComment('LGTM', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('please run /pipeline generate', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('Looks good.\n/pipeline approve', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('/pipelines generate', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('', bot)).toEqual({ kind: 'ignore' });
  });

  it('never triggers on code blocks or quotes', () => {
    expect(parseComment('```\n/pipeline approve\n```', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('~~~text\n@pipeline-bot approve\n~~~', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('> /pipeline approve', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('>>>\n/pipeline approve\n>>>', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('    /pipeline approve', bot)).toEqual({ kind: 'ignore' });
    expect(parseComment('<!-- /pipeline approve -->', bot)).toEqual({ kind: 'ignore' });
    // A command after the quoted part still counts: the quote itself did not trigger it.
    expect(parseComment('> can you redo it?\n\n/pipeline generate', bot)).toMatchObject({
      kind: 'command',
      verb: 'generate',
    });
  });

  it('answers unknown verbs with a suggestion and bad arguments with usage', () => {
    expect(parseComment('/pipeline aprove', bot)).toEqual({
      kind: 'reply',
      message: 'Unknown command `aprove`. Did you mean `/pipeline approve`?',
    });
    expect(parseComment('/pipeline gen', bot)).toMatchObject({
      message: expect.stringContaining('`/pipeline generate`'),
    });
    expect(parseComment('/pipeline frobnicate', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('Try `/pipeline help`'),
    });
    expect(parseComment('/pipeline', bot)).toMatchObject({ kind: 'reply' });
    expect(parseComment('/pipeline rate 7', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('1 (poor) to 5'),
    });
    expect(parseComment('/pipeline approve three', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('Usage'),
    });
    expect(parseComment('/pipeline generate --lang go', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('--language'),
    });
    // slugs come from the registry (src/generation/slugs.ts); the reply lists the valid ones
    expect(parseComment('/pipeline generate --language cobol', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringMatching(
        /^Unknown language "cobol"; valid: go, python, node,.*terraform, helm, docker, docs/,
      ),
    });
    expect(parseComment('/pipeline generate --language terraform --framework pulumi', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining(
        'Unknown framework "pulumi" for terraform; valid: generic, terraform, opentofu.',
      ),
    });
    expect(parseComment('/pipeline best --framework springboot', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('spring-boot'),
    });
    expect(parseComment('/pipeline generate --language c --framework meson', bot)).toMatchObject({
      kind: 'command',
      args: { language: 'c', framework: 'meson' },
    });
    expect(parseComment('/pipeline generate --framework OpenTofu', bot)).toMatchObject({
      kind: 'command',
      args: { framework: 'opentofu' },
    });
    expect(parseComment('/pipeline generate --policy magic', bot)).toMatchObject({
      kind: 'reply',
      message: expect.stringContaining('thompson'),
    });
    expect(parseComment('/pipeline feedback', bot)).toMatchObject({ kind: 'reply' });
    expect(parseComment('/pipeline status now', bot)).toMatchObject({ kind: 'reply' });
  });

  it('suggests only near misses', () => {
    expect(closestVerb('statuss')).toBe('status');
    expect(closestVerb('rollbak')).toBe('rollback');
    expect(closestVerb('xyz')).toBeNull();
  });

  it('never throws and always returns exactly one of the three kinds (property)', () => {
    const verbish = fc.constantFrom(...VERBS, 'aprove', '', '--force', '3', '```', '>', '@pipeline-bot', '/pipeline');
    const line = fc.array(fc.oneof(fc.string(), verbish), { maxLength: 6 }).map((parts) => parts.join(' '));
    const text = fc.oneof(
      fc.string({ maxLength: 500 }),
      fc.array(line, { maxLength: 8 }).map((ls) => ls.join('\n')),
      fc.array(line, { maxLength: 4 }).map((ls) => `/pipeline ${ls.join('\n')}`),
      fc.array(line, { maxLength: 4 }).map((ls) => `@pipeline-bot ${ls.join('\r\n')}`),
    );
    fc.assert(
      fc.property(text, fc.option(fc.string({ maxLength: 20 })), (t, name) => {
        const r = parseComment(t, { botUsername: name ?? 'pipeline-bot' });
        expect(['command', 'reply', 'ignore']).toContain(r.kind);
        if (r.kind === 'command') expect(VERBS).toContain(r.verb);
        if (r.kind === 'reply') expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('never triggers when the command sits inside a code block (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VERBS), fc.string({ maxLength: 40 }), (verb, tail) => {
        const clean = tail.replace(/`|~/g, '');
        const r = parseComment(`\`\`\`\n/pipeline ${verb} ${clean}\n\`\`\``, bot);
        expect(r).toEqual({ kind: 'ignore' });
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { diffLines } from '../../src/commands/diffLines.js';
import { codeBlock, safeReply } from '../../src/commands/markdown.js';

describe('reply markdown', () => {
  it('escapes lines that GitLab would run as quick actions, but not inside code blocks', () => {
    const body = '/approve\n  /merge now\n```\n/close\n```\ntext `/pipeline approve 3`';
    expect(safeReply(body)).toBe('\\/approve\n  \\/merge now\n```\n/close\n```\ntext `/pipeline approve 3`');
  });

  it('fences content with a longer fence than any backtick run inside', () => {
    expect(codeBlock('a: "```"', 'yaml')).toBe('````yaml\na: "```"\n````');
  });
});

describe('diffLines', () => {
  it('shows a unified diff with context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\ni\n';
    expect(diffLines(before, after)).toBe('@@ -1,8 +1,9 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n+i');
  });

  it('is empty for equal texts and covers additions to an empty file', () => {
    expect(diffLines('x\n', 'x\n')).toBe('');
    expect(diffLines('', 'a\nb\n')).toBe('@@ -0,0 +1,2 @@\n+a\n+b');
  });
});

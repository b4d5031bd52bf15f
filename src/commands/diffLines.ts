/**
 * A unified diff of two texts by lines (LCS), with three lines of context. Enough for CI files;
 * above `maxLines` per side it gives up rather than spend quadratic time.
 */
export function diffLines(
  before: string,
  after: string,
  options: { context?: number; maxLines?: number } = {},
): string | null {
  const context = options.context ?? 3;
  const max = options.maxLines ?? 3000;
  const a = splitLines(before);
  const b = splitLines(after);
  if (a.length > max || b.length > max) return null;

  // Trim common prefix/suffix first: most edits are local.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        midA[i] === midB[j]
          ? lcs[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  type Op = { t: ' ' | '-' | '+'; line: string; ai: number; bi: number };
  const ops: Op[] = [];
  for (let k = 0; k < start; k++) ops.push({ t: ' ', line: a[k], ai: k, bi: k });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      ops.push({ t: ' ', line: midA[i], ai: start + i, bi: start + j });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) {
      ops.push({ t: '-', line: midA[i], ai: start + i, bi: start + j });
      i++;
    } else {
      ops.push({ t: '+', line: midB[j], ai: start + i, bi: start + j });
      j++;
    }
  }
  for (let k = 0; k < a.length - endA; k++) ops.push({ t: ' ', line: a[endA + k], ai: endA + k, bi: endB + k });

  const changed = ops.map((o, idx) => (o.t !== ' ' ? idx : -1)).filter((x) => x >= 0);
  if (changed.length === 0) return '';
  const hunks: string[] = [];
  let h = 0;
  while (h < changed.length) {
    let from = Math.max(0, changed[h] - context);
    let to = Math.min(ops.length - 1, changed[h] + context);
    while (h + 1 < changed.length && changed[h + 1] - context <= to + 1) {
      h++;
      to = Math.min(ops.length - 1, changed[h] + context);
    }
    from = Math.max(0, from);
    const slice = ops.slice(from, to + 1);
    const aCount = slice.filter((o) => o.t !== '+').length;
    const bCount = slice.filter((o) => o.t !== '-').length;
    const aStart = slice[0].ai + (aCount ? 1 : 0);
    const bStart = slice[0].bi + (bCount ? 1 : 0);
    hunks.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of slice) hunks.push(`${o.t}${o.line}`);
    h++;
  }
  return hunks.join('\n');
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * GitHub Actions `if:` conditions, evaluated for the run a translation stands for: a push to the
 * default branch, on a Linux runner, with one matrix combination. A condition that reads anything
 * else (outputs of other steps, secrets, file hashes) cannot be decided here and counts as true, so
 * a step is only left out when it certainly would not run.
 */

type Value = string | number | boolean | null;

export interface ConditionContext {
  matrix: Record<string, string>;
  env?: Record<string, string>;
  /** the default branch; `main` when unknown */
  defaultBranch?: string;
}

class Undecidable extends Error {}

function contextValue(path: string, ctx: ConditionContext): Value {
  const branch = ctx.defaultBranch ?? 'main';
  const m = path.match(/^matrix\.([\w-]+)$/);
  if (m) return ctx.matrix[m[1]] ?? null;
  const e = path.match(/^env\.(\w+)$/);
  if (e && ctx.env && ctx.env[e[1]] !== undefined && !ctx.env[e[1]].includes('${{')) return ctx.env[e[1]];
  switch (path) {
    case 'runner.os':
      return 'Linux';
    case 'runner.arch':
      return 'X64';
    case 'github.event_name':
      return 'push';
    case 'github.ref':
      return `refs/heads/${branch}`;
    case 'github.ref_name':
    case 'github.head_ref':
      return path === 'github.head_ref' ? '' : branch;
    case 'github.ref_type':
      return 'branch';
    case 'github.base_ref':
      return '';
    case 'github.event.repository.default_branch':
      return branch;
    case 'github.event.pull_request':
    case 'github.event.pull_request.head.repo.fork':
      return null;
  }
  throw new Undecidable(path);
}

interface Token {
  kind: 'str' | 'num' | 'id' | 'op' | 'lp' | 'rp' | 'comma';
  text: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length) {
        if (src[j] === "'" && src[j + 1] === "'") {
          s += "'";
          j += 2;
        } else if (src[j] === "'") break;
        else s += src[j++];
      }
      out.push({ kind: 'str', text: s });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '&&', '||', '<=', '>='].includes(two)) {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('!<>'.includes(c)) {
      out.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ kind: c === '(' ? 'lp' : c === ')' ? 'rp' : 'comma', text: c });
      i++;
      continue;
    }
    const num = src.slice(i).match(/^-?\d+(\.\d+)?/);
    if (num) {
      out.push({ kind: 'num', text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = src.slice(i).match(/^[A-Za-z_][\w.\-*]*/);
    if (!id) throw new Undecidable(src);
    out.push({ kind: 'id', text: id[0] });
    i += id[0].length;
  }
  return out;
}

const truthy = (v: Value): boolean => v !== null && v !== false && v !== 0 && v !== '';

function loose(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (a === null || b === null) return a === b || (a ?? '') === (b ?? '');
  return String(a).toLowerCase() === String(b).toLowerCase();
}

/** A small recursive-descent evaluator over GitHub's expression grammar (the parts workflows use in `if:`). */
function evaluate(tokens: Token[], ctx: ConditionContext): Value {
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const or = (): Value => {
    let left = and();
    while (peek()?.text === '||') {
      next();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = cmp();
    while (peek()?.text === '&&') {
      next();
      const right = cmp();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const cmp = (): Value => {
    const left = unary();
    const op = peek();
    if (op?.kind === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(op.text)) {
      next();
      const right = unary();
      if (op.text === '==') return loose(left, right);
      if (op.text === '!=') return !loose(left, right);
      const [a, b] = [Number(left), Number(right)];
      if (Number.isNaN(a) || Number.isNaN(b)) throw new Undecidable(op.text);
      return op.text === '<' ? a < b : op.text === '>' ? a > b : op.text === '<=' ? a <= b : a >= b;
    }
    return left;
  };
  const unary = (): Value => {
    if (peek()?.text === '!') {
      next();
      return !truthy(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const t = next();
    if (!t) throw new Undecidable('end');
    if (t.kind === 'lp') {
      const v = or();
      if (next()?.kind !== 'rp') throw new Undecidable(')');
      return v;
    }
    if (t.kind === 'str') return t.text;
    if (t.kind === 'num') return Number(t.text);
    if (t.kind !== 'id') throw new Undecidable(t.text);
    if (t.text === 'true') return true;
    if (t.text === 'false') return false;
    if (t.text === 'null') return null;
    if (peek()?.kind === 'lp') {
      next();
      const args: Value[] = [];
      while (peek() && peek().kind !== 'rp') {
        args.push(or());
        if (peek()?.kind === 'comma') next();
      }
      next();
      return call(t.text, args);
    }
    return contextValue(t.text, ctx);
  };
  const v = or();
  if (pos !== tokens.length) throw new Undecidable('trailing');
  return v;
}

function call(name: string, args: Value[]): Value {
  const s = (v: Value) => String(v ?? '').toLowerCase();
  switch (name) {
    case 'success':
    case 'always':
      return true;
    case 'failure':
    case 'cancelled':
      return false;
    case 'startsWith':
      return s(args[0]).startsWith(s(args[1]));
    case 'endsWith':
      return s(args[0]).endsWith(s(args[1]));
    case 'contains':
      return s(args[0]).includes(s(args[1]));
  }
  throw new Undecidable(name);
}

/**
 * Whether a step or job with this `if:` runs on a push to the default branch on Linux. Undecidable
 * conditions (another step's outputs, secrets, hashFiles) count as true.
 */
export function conditionHolds(condition: string | null, ctx: ConditionContext): boolean {
  if (condition === null) return true;
  let src = condition.trim();
  const wrapped = src.match(/^\$\{\{([\s\S]*)\}\}$/);
  if (wrapped) src = wrapped[1].trim();
  if (src === '') return true;
  try {
    return truthy(evaluate(tokenize(src), ctx));
  } catch (err) {
    if (err instanceof Undecidable) return true;
    throw err;
  }
}

import { readFileSync } from 'node:fs';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import type { IgnoreDraft, Located, RuleDraft, TestDraft } from './compile.js';

/** A problem in a rules file; no position when the file could not be read. */
export interface FileProblem {
  readonly position?: { readonly line: number; readonly col: number };
  readonly message: string;
}

export type FileProblemSink = (problem: FileProblem) => void;

/** What a rules file says; a top-level setting that is absent stays undefined so env settings can fill it. */
export interface RulesFile {
  readonly rules: readonly RuleDraft[];
  readonly ignore: readonly IgnoreDraft[] | undefined;
  readonly allow: readonly Located<string>[] | undefined;
  readonly denyPrefixes: readonly string[] | undefined;
  readonly defaultGroups: readonly Located<string>[] | undefined;
  readonly superuserGroups: readonly Located<string>[] | undefined;
  readonly staffGroups: readonly Located<string>[] | undefined;
  readonly requireRole: boolean | undefined;
}

const TOP_LEVEL_KEYS = ['rules', 'ignore', 'allow', 'denyPrefixes', 'defaultGroups', 'superuserGroups', 'staffGroups', 'requireRole'] as const;
const RULE_KEYS = ['attribute', 'match', 'range', 'groups', 'ignoreCase', 'stop'] as const;
const IGNORE_KEYS = ['attribute', 'match'] as const;
const RANGE_KEYS = ['min', 'max'] as const;

/**
 * Reads and checks a rules file (YAML, or JSON, which is YAML too). Each problem goes to `sink` with the position
 * of the offending key or value, also the problems compileRules finds later through the values' reports. The result
 * is undefined when the file cannot be read or parsed at all, and otherwise holds what was valid.
 */
export function readRulesFile(path: string, sink: FileProblemSink): RulesFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    sink({ message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
    return undefined;
  }
  return parseRulesFile(text, sink);
}

export function parseRulesFile(text: string, sink: FileProblemSink): RulesFile | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const report = (offset: number, message: string) => sink({ position: lineCounter.linePos(offset), message });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) report(error.pos[0], error.message);
    return undefined;
  }
  return new FileReader(doc, report).top();
}

/** A key and its value; the value is undefined for `key:` with nothing after it. */
interface Entry {
  readonly key: Node;
  readonly value: Node | undefined;
}

class FileReader {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly report: (offset: number, message: string) => void,
  ) {}

  top(): RulesFile | undefined {
    const root = this.node(this.doc.contents);
    if (root === undefined || (isScalar(root) && root.value === null)) {
      this.problem(undefined, 'the file is empty; it needs at least a `rules:` list');
      return undefined;
    }
    const entries = this.entries(root, 'the rules file', TOP_LEVEL_KEYS);
    if (entries === undefined) return undefined;
    const rules = entries.get('rules');
    if (rules === undefined) this.problem(root, 'missing `rules:` (an empty list `rules: []` gives every user the default groups only)');
    const names = (key: string, what: string) => {
      const entry = entries.get(key);
      return entry && this.strings(entry, `${key} must be a list of ${what}`);
    };
    const allow = names('allow', 'regular expressions');
    const allowEntry = entries.get('allow');
    if (allowEntry && isEmptyList(allowEntry.value)) this.problem(allowEntry.key, 'allow is an empty list, which would refuse every group; leave it out to allow every name');
    const ignore = entries.get('ignore');
    const requireRole = entries.get('requireRole');
    return {
      rules: rules ? this.list(rules, 'rules must be a list of rules').flatMap((node, index) => this.rule(node, index + 1)) : [],
      ignore: ignore && this.list(ignore, 'ignore must be a list of { attribute, match }').flatMap((node) => this.ignore(node)),
      allow,
      denyPrefixes: names('denyPrefixes', 'group name prefixes')?.map((prefix) => prefix.value),
      defaultGroups: names('defaultGroups', 'group names'),
      superuserGroups: names('superuserGroups', 'group names'),
      staffGroups: names('staffGroups', 'group names'),
      requireRole: requireRole && this.boolean(requireRole, 'requireRole'),
    };
  }

  rule(node: Node, number: number): RuleDraft[] {
    const entries = this.entries(node, `rule ${number}`, RULE_KEYS);
    if (entries === undefined) return [];
    const [attribute, match, range, groups, ignoreCase, stop] = RULE_KEYS.map((key) => entries.get(key));
    if (attribute === undefined) this.problem(node, `rule ${number} needs an attribute`);
    if (groups === undefined) this.problem(node, `rule ${number} needs groups`);
    if (match === undefined && range === undefined) this.problem(node, `rule ${number} needs match (a regular expression) or range ({ min, max })`);
    if (match !== undefined && range !== undefined) this.problem(range.key, `rule ${number} has both match and range; give one`);
    if (range !== undefined && ignoreCase !== undefined) this.problem(ignoreCase.key, 'ignoreCase applies to match, not to range');
    const attributes = attribute ? this.strings(attribute, 'attribute must be an attribute name or a list of them', { scalar: true }) : [];
    const groupNames = groups ? this.strings(groups, 'groups must be a list of group names', { scalar: true }) : [];
    if (groups && isEmptyList(groups.value)) this.problem(groups.value, 'groups must list at least one group (use ignore to skip values)');
    if (attribute && isEmptyList(attribute.value)) this.problem(attribute.value, 'attribute must name at least one attribute');
    const caseless = ignoreCase ? this.boolean(ignoreCase, 'ignoreCase') : false;
    const stops = stop ? this.boolean(stop, 'stop') : false;
    let test: TestDraft | undefined;
    if (match !== undefined && range === undefined) {
      const pattern = this.string(match.value, match.key, 'match must be a regular expression (a string)');
      if (pattern) test = { kind: 'regex', pattern, ignoreCase: caseless };
    } else if (range !== undefined && match === undefined) {
      test = this.range(range);
    }
    if (attributes.length === 0 || groupNames.length === 0 || test === undefined) return [];
    return [{ label: `rule ${number}`, attributes: attributes.map((name) => name.value), test, groups: groupNames, stop: stops }];
  }

  range(entry: Entry): TestDraft | undefined {
    if (!isMap(entry.value)) {
      this.problem(entry.value ?? entry.key, `range must be a mapping { min, max }, got ${describe(entry.value)}`);
      return undefined;
    }
    const node = entry.value;
    const entries = this.entries(node, 'range', RANGE_KEYS);
    if (entries === undefined) return undefined;
    const bound = (key: 'min' | 'max'): number | undefined => {
      const entry = entries.get(key);
      if (entry === undefined) {
        this.problem(node, `range needs ${key}`);
        return undefined;
      }
      if (isScalar(entry.value) && typeof entry.value.value === 'number' && Number.isSafeInteger(entry.value.value)) return entry.value.value;
      this.problem(entry.value ?? entry.key, `range ${key} must be a whole number, got ${describe(entry.value)}`);
      return undefined;
    };
    const [min, max] = [bound('min'), bound('max')];
    if (min === undefined || max === undefined) return undefined;
    if (min > max) {
      this.problem(node, `range min ${min} is greater than max ${max}`);
      return undefined;
    }
    return { kind: 'range', min, max };
  }

  ignore(node: Node): IgnoreDraft[] {
    const entries = this.entries(node, 'an ignore entry', IGNORE_KEYS);
    if (entries === undefined) return [];
    const [attribute, match] = IGNORE_KEYS.map((key) => entries.get(key));
    if (match === undefined) this.problem(node, 'an ignore entry needs match (a regular expression)');
    const name = attribute && this.string(attribute.value, attribute.key, 'attribute must be an attribute name', { scalar: true });
    const pattern = match && this.string(match.value, match.key, 'match must be a regular expression (a string)');
    if (pattern === undefined || (attribute && name === undefined)) return [];
    return [{ attribute: name?.value, pattern }];
  }

  /** A mapping's entries by key, or undefined (reported) when `node` is not a mapping. Unknown keys are reported. */
  entries(node: Node, what: string, known: readonly string[]): ReadonlyMap<string, Entry> | undefined {
    if (!isMap(node)) {
      this.problem(node, `${what} must be a mapping, got ${describe(node)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const key = this.node(pair.key);
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.problem(key ?? node, `keys of ${what} must be plain names`);
        continue;
      }
      if (!known.includes(key.value)) {
        const suggestion = known.find((name) => similar(name, key.value as string));
        this.problem(key, `unknown key "${key.value}" in ${what}${suggestion ? `; did you mean "${suggestion}"?` : ` (known: ${known.join(', ')})`}`);
        continue;
      }
      const value = this.node(pair.value);
      entries.set(key.value, { key, value: isScalar(value) && value.value === null ? undefined : value });
    }
    return entries;
  }

  list(entry: Entry, message: string): Node[] {
    if (!isSeq(entry.value)) {
      this.problem(entry.value ?? entry.key, `${message}, got ${describe(entry.value)}`);
      return [];
    }
    return entry.value.items.flatMap((item) => this.node(item) ?? []);
  }

  /** A list of names; `scalar`: a single name stands for a list of one. */
  strings(entry: Entry, message: string, { scalar = false } = {}): Located<string>[] {
    const items = scalar && isScalar(entry.value) ? [entry.value] : this.list(entry, message);
    return items.flatMap((item) => this.string(item, item, message, { scalar: true }) ?? []);
  }

  /**
   * `value` as text, or undefined (reported at `value`, or at `where` when there is no value). `scalar`: a number
   * is taken as the text it was written as (RADIUS attribute `25`, a group `1234`).
   */
  string(value: Node | undefined, where: Node, message: string, { scalar = false } = {}): Located<string> | undefined {
    if (isScalar(value) && (typeof value.value === 'string' || (scalar && typeof value.value === 'number'))) {
      const text = typeof value.value === 'string' ? value.value : (value.source ?? String(value.value));
      if (text.trim() !== '') return { value: text, report: (problem) => this.problem(value, problem) };
      this.problem(value, `${message}, got an empty string`);
      return undefined;
    }
    this.problem(value ?? where, `${message}, got ${describe(value)}`);
    return undefined;
  }

  boolean(entry: Entry, key: string): boolean {
    if (isScalar(entry.value) && typeof entry.value.value === 'boolean') return entry.value.value;
    this.problem(entry.value ?? entry.key, `${key} must be true or false, got ${describe(entry.value)}`);
    return false;
  }

  /** Aliases resolved (an anchor may be reused for a list of groups). */
  node(node: unknown): Node | undefined {
    const resolved = isAlias(node) ? node.resolve(this.doc) : node;
    return isNode(resolved) ? resolved : undefined;
  }

  problem(node: Node | undefined, message: string): void {
    this.report(node?.range?.[0] ?? 0, message);
  }
}

function isEmptyList(node: Node | undefined): boolean {
  return isSeq(node) && node.items.length === 0;
}

function describe(node: Node | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'nothing';
    if (typeof node.value === 'string') return `the string ${JSON.stringify(node.value)}`;
    return `${typeof node.value === 'number' ? 'the number' : `the ${typeof node.value}`} ${String(node.value)}`;
  }
  return 'something else';
}

/** Same name but for case, or one edit away (a letter added, dropped, changed, or two swapped): worth a "did you mean". */
function similar(known: string, typed: string): boolean {
  const [a, b] = [known.toLowerCase(), typed.toLowerCase()];
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let start = 0;
  while (a[start] === b[start]) start++;
  const [restA, restB] = [a.slice(start), b.slice(start)];
  return (
    restA.slice(1) === restB.slice(1) ||
    restA.slice(1) === restB ||
    restA === restB.slice(1) ||
    (restA[0] === restB[1] && restA[1] === restB[0] && restA.slice(2) === restB.slice(2))
  );
}

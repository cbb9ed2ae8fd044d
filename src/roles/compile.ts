import { allowPattern, refusal, type GroupPolicy } from './policy.js';
import type { IgnoreRule, RoleRules, Rule, ValueTest } from './rules.js';
import { highestPlaceholder, parseTemplate, type GroupTemplate } from './template.js';

/** Records a problem at the place a setting came from: `file:line:col` in the rules file, or an env variable. */
export type Report = (message: string) => void;

export interface Located<T> {
  readonly value: T;
  readonly report: Report;
}

export type TestDraft =
  | { readonly kind: 'regex'; readonly pattern: Located<string>; readonly ignoreCase: boolean }
  | { readonly kind: 'range'; readonly min: number; readonly max: number };

export interface RuleDraft {
  readonly label: string;
  readonly attributes: readonly string[];
  readonly test: TestDraft;
  readonly groups: readonly Located<string>[];
  readonly stop: boolean;
}

export interface IgnoreDraft {
  readonly attribute: string | undefined;
  readonly pattern: Located<string>;
}

/** Settings as written, each value able to report where it came from; compileRules checks what needs them all. */
export interface RulesDraft {
  readonly origin: string;
  readonly rules: readonly RuleDraft[];
  readonly ignore: readonly IgnoreDraft[];
  readonly allow: readonly Located<string>[];
  readonly denyPrefixes: readonly string[];
  readonly defaultGroups: readonly Located<string>[];
  readonly superuserGroups: readonly Located<string>[];
  readonly staffGroups: readonly Located<string>[];
  readonly requireRole: boolean;
}

/**
 * Regexes compiled, placeholders checked against the captures they refer to, and every group name that does not
 * depend on the AAA reply checked against the allow-list and deny prefixes now, so a rule that could never give its
 * group stops the start instead of failing each login. Problems go to each value's report; what is returned then
 * is incomplete and only good for reporting more problems.
 */
export function compileRules(draft: RulesDraft): RoleRules {
  const allow = draft.allow.flatMap((pattern) => {
    const regex = compileRegex(pattern, '');
    return regex ? [allowPattern(regex)] : [];
  });
  const policy: GroupPolicy = { allow, denyPrefixes: draft.denyPrefixes };
  const fixedNames = (names: readonly Located<string>[]): string[] =>
    names.map((name) => {
      const why = refusal(name.value, policy);
      if (why !== undefined) name.report(`group ${JSON.stringify(name.value)} is refused: ${why}`);
      return name.value;
    });

  const rules = draft.rules.flatMap((rule): Rule[] => {
    const test = compileTest(rule.test);
    if (test === undefined) return [];
    const captures = test.kind === 'regex' ? captureCount(test.regex) : 0;
    const groups = rule.groups.map((group) => checkTemplate(group, captures, test, policy));
    return [{ label: rule.label, attributes: rule.attributes, test, groups, stop: rule.stop }];
  });
  const ignore = draft.ignore.flatMap((entry): IgnoreRule[] => {
    const regex = compileRegex(entry.pattern, '');
    return regex ? [{ attribute: entry.attribute, regex }] : [];
  });
  const attributes = new Set(draft.rules.flatMap((rule) => rule.attributes.map((name) => name.toLowerCase())));
  // Cisco AV pairs reach rules as their inner `protocol:attribute` names, so a rule on one of those acts on them.
  if ([...attributes].some((name) => name.includes(':'))) attributes.add('cisco-av-pair');

  return {
    origin: draft.origin,
    rules,
    ignore,
    policy,
    defaultGroups: fixedNames(draft.defaultGroups),
    superuserGroups: fixedNames(draft.superuserGroups),
    staffGroups: fixedNames(draft.staffGroups),
    requireRole: draft.requireRole,
    attributes: [...attributes],
  };
}

function compileTest(test: TestDraft): ValueTest | undefined {
  if (test.kind === 'range') return test;
  const regex = compileRegex(test.pattern, test.ignoreCase ? 'i' : '');
  return regex ? { kind: 'regex', regex } : undefined;
}

function compileRegex(pattern: Located<string>, flags: string): RegExp | undefined {
  try {
    return new RegExp(pattern.value, flags);
  } catch (error) {
    // V8's message names the pattern and the fault: `Invalid regular expression: /(/: Unterminated group`.
    pattern.report((error as Error).message);
    return undefined;
  }
}

/** `(?:source)|` matches '' through its empty branch, and a match array has a slot for every capture group. */
function captureCount(regex: RegExp): number {
  return (new RegExp(`(?:${regex.source})|`).exec('')?.length ?? 1) - 1;
}

function checkTemplate(group: Located<string>, captures: number, test: ValueTest, policy: GroupPolicy): GroupTemplate {
  const template = parseTemplate(group.value);
  const highest = highestPlaceholder(template);
  if (highest > captures) {
    group.report(
      test.kind === 'range'
        ? `${JSON.stringify(group.value)} uses {${highest}}, but a range rule has only {0} (the number)`
        : `${JSON.stringify(group.value)} uses {${highest}}, but ${String(test.regex)} has ${captures === 0 ? 'no capture group' : `only ${captures} capture group${captures === 1 ? '' : 's'}`}`,
    );
  } else if (highest === -1) {
    const why = refusal(group.value, policy);
    if (why !== undefined) group.report(`group ${JSON.stringify(group.value)} is refused: ${why}`);
  }
  return template;
}

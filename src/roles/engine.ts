import type { AttributeBag } from '../aaa/attributes.js';
import type { Logger } from '../log.js';
import { refusal } from './policy.js';
import { describeRule, type IgnoreRule, type RoleRules, type ValueTest } from './rules.js';
import { fillTemplate, templatePattern } from './template.js';
import type { RoleDecision, RoleMapper } from './types.js';
import { valuesOf } from './values.js';

/** What `{0}` of a range rule can be: the level in canonical form. */
const NUMBER_PATTERN = '-?\\d+';
/** What `{0}`, `{1}`.. of a regex rule can be: anything the AAA server sends. */
const ANY_PATTERN = '[\\s\\S]*';

export function createRoleMapper(rules: RoleRules, logger: Logger): RoleMapper {
  return new RuleEngine(rules, logger);
}

/**
 * Ordered rules over the attribute bag: each rule is tried on every value of its attributes, in rule order, and
 * every match adds the rule's groups. Default groups come first in the result but never count as a match.
 */
export class RuleEngine implements RoleMapper {
  readonly #fixed: ReadonlySet<string>;
  readonly #producible: readonly RegExp[];

  constructor(
    private readonly rules: RoleRules,
    private readonly logger: Logger,
  ) {
    this.#fixed = new Set([...rules.defaultGroups, ...rules.superuserGroups, ...rules.staffGroups]);
    this.#producible = rules.rules.flatMap((rule) =>
      rule.groups.map((template) => templatePattern(template, rule.test.kind === 'range' ? NUMBER_PATTERN : ANY_PATTERN)),
    );
  }

  map(bag: AttributeBag): RoleDecision {
    const { rules, ignore, policy } = this.rules;
    const explanation: string[] = [];
    const granted = new Set<string>();
    const grant = (name: string): boolean => {
      const why = refusal(name, policy);
      if (why === undefined) {
        granted.add(name);
        return true;
      }
      explanation.push(`refused group ${quote(name)}: ${why}`);
      // A refused name means the AAA side sends something the rules do not expect: worth an operator's look.
      this.logger.warn({ group: name.slice(0, 200), reason: why }, 'role mapping refused a group name');
      return false;
    };

    for (const name of this.rules.defaultGroups) grant(name);
    const fromDefaults = granted.size;
    let matched = false;
    let gaveGroup = false;
    const seen = new Map<string, { line: string; matched: boolean }>();
    const ignored = new Set<string>();

    for (const rule of rules) {
      let ruleMatched = false;
      for (const attribute of rule.attributes) {
        for (const value of valuesOf(bag, attribute)) {
          const key = `${attribute.toLowerCase()}\u0000${value}`;
          const skip = ignoreRuleFor(ignore, attribute, value);
          if (skip) {
            if (!ignored.has(key)) explanation.push(`ignored ${attribute} ${quote(value)} (ignore ${String(skip.regex)})`);
            ignored.add(key);
            continue;
          }
          const captures = capture(rule.test, value);
          const sighting = seen.get(key) ?? { line: `no rule matched ${attribute} ${quote(value)}`, matched: false };
          seen.set(key, sighting);
          if (captures === undefined) continue;
          sighting.matched = true;
          ruleMatched = matched = true;
          const index = explanation.length;
          const given = rule.groups.map((template) => fillTemplate(template, captures)).filter(grant);
          if (given.length > 0) gaveGroup = true;
          const subject = rule.attributes.length > 1 ? `${attribute} ${quote(value)}` : quote(value);
          // The match line goes before the refusals grant() just wrote, which it causes.
          explanation.splice(index, 0, `${rule.label} (${describeRule(rule)}) matched ${subject} → ${given.length > 0 ? given.join(', ') : 'no group'}`);
        }
      }
      if (ruleMatched && rule.stop) {
        explanation.push(`${rule.label} stops: later rules were not evaluated`);
        break;
      }
    }
    for (const sighting of seen.values()) if (!sighting.matched) explanation.push(sighting.line);

    if (fromDefaults > 0) explanation.push(`default groups: ${[...granted].slice(0, fromDefaults).join(', ')}`);
    if (this.rules.requireRole && !gaveGroup) {
      explanation.push(`${matched ? 'no rule gave an allowed group' : 'no rule matched'}; REQUIRE_ROLE denies the login`);
      return { groups: [], superuser: false, staff: false, denied: true, explanation };
    }
    const groups = [...granted];
    const superuser = membership('superuser', groups, this.rules.superuserGroups, explanation);
    const staff = membership('staff', groups, this.rules.staffGroups, explanation);
    return { groups, superuser, staff, denied: false, explanation };
  }

  manages(group: string): boolean {
    if (refusal(group, this.rules.policy) !== undefined) return false;
    return this.#fixed.has(group) || this.#producible.some((pattern) => pattern.test(group));
  }
}

function ignoreRuleFor(ignore: readonly IgnoreRule[], attribute: string, value: string): IgnoreRule | undefined {
  const name = attribute.toLowerCase();
  return ignore.find((rule) => (rule.attribute === undefined || rule.attribute.toLowerCase() === name) && rule.regex.test(value));
}

/** `[value, capture 1, ..]` on a match; a range rule's value in canonical form (`015` → `15`). */
function capture(test: ValueTest, value: string): string[] | undefined {
  if (test.kind === 'range') {
    if (!/^[+-]?\d{1,15}$/.test(value)) return undefined;
    const level = Number(value);
    return level >= test.min && level <= test.max ? [String(level)] : undefined;
  }
  const match = test.regex.exec(value);
  return match ? [value, ...match.slice(1).map((group) => group ?? '')] : undefined;
}

function membership(kind: 'superuser' | 'staff', groups: readonly string[], configured: readonly string[], explanation: string[]): boolean {
  if (configured.length === 0) return false;
  const member = configured.filter((group) => groups.includes(group));
  explanation.push(member.length > 0 ? `${kind}: member of ${member.join(', ')}` : `${kind}: not a member of ${configured.join(', ')}`);
  return member.length > 0;
}

/** JSON quoting: AAA values may hold quotes and control characters that must not garble a log line. */
function quote(value: string): string {
  return JSON.stringify(value);
}

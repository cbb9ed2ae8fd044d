import type { GroupPolicy } from './policy.js';
import type { GroupTemplate } from './template.js';

export type ValueTest =
  | { readonly kind: 'regex'; readonly regex: RegExp }
  /** Whole numbers from min to max inclusive, e.g. privilege levels. */
  | { readonly kind: 'range'; readonly min: number; readonly max: number };

export interface Rule {
  /** How explanations name the rule: `rule 2`, `ROLE_MAP "admin:netbox-admin"`, `built-in rule 1`. */
  readonly label: string;
  /** Attribute names (any case); the rule is tried on every value of each. */
  readonly attributes: readonly string[];
  readonly test: ValueTest;
  readonly groups: readonly GroupTemplate[];
  /** After this rule matched, later rules are not evaluated. */
  readonly stop: boolean;
}

export interface IgnoreRule {
  /** undefined: values of every attribute. */
  readonly attribute: string | undefined;
  readonly regex: RegExp;
}

/** The validated, compiled group mapping the engine runs (README, "Group mapping"). */
export interface RoleRules {
  /** Where the rules came from, for the start-up log and the explain CLI. */
  readonly origin: string;
  readonly rules: readonly Rule[];
  readonly ignore: readonly IgnoreRule[];
  readonly policy: GroupPolicy;
  /** Given to every user who is not denied, whether or not a rule matched. */
  readonly defaultGroups: readonly string[];
  readonly superuserGroups: readonly string[];
  readonly staffGroups: readonly string[];
  /** No rule gave an allowed group: deny the login. */
  readonly requireRole: boolean;
  /**
   * Every attribute name the rules read, lower case. A TACACS+ server may send any of them as a mandatory
   * argument, which RFC 8907 §6.1 lets the client accept only if it acts on it.
   */
  readonly attributes: readonly string[];
}

/** `Class ~ /^netbox-(.+)$/`, `shell:roles|role ~ /^admin$/i`, `priv-lvl in 0..15`. */
export function describeRule(rule: Rule): string {
  const attributes = rule.attributes.join('|');
  const test = rule.test.kind === 'regex' ? `~ ${String(rule.test.regex)}` : `in ${rule.test.min}..${rule.test.max}`;
  return `${attributes} ${test}`;
}

import type { IgnoreDraft, Located, RuleDraft } from './compile.js';

/** Where AAA servers commonly put role names: RADIUS Class, and the role arguments (and Cisco AV pairs) of both. */
export const ROLE_ATTRIBUTES = ['shell:roles', 'shell:role', 'role'] as const;

const ANY = /.+/.source;

/**
 * The mapping without ROLE_RULES_FILE or ROLE_MAP, as the gateway always had it: every Class value and every role
 * name is a group of the same name, and a privilege level names a group through PRIV_LVL_GROUP_TEMPLATE.
 * Cisco-AVPair `shell:roles="a b"` reaches the role rule through the bag's inner pairs.
 */
export function builtInRules(privLvlTemplate: Located<string> | undefined): RuleDraft[] {
  const fixed = (value: string): Located<string> => ({ value, report: unreachable });
  return [
    { label: 'built-in rule 1', attributes: ['Class'], test: { kind: 'regex', pattern: fixed(ANY), ignoreCase: false }, groups: [fixed('{0}')], stop: false },
    { label: 'built-in rule 2', attributes: ROLE_ATTRIBUTES, test: { kind: 'regex', pattern: fixed(ANY), ignoreCase: false }, groups: [fixed('{0}')], stop: false },
    ...(privLvlTemplate ? [privLvlRule(privLvlTemplate)] : []),
  ];
}

/** ISE adds `CACS:<session id>` to every Access-Accept's Class: an accounting handle, not a role. */
export const BUILT_IN_IGNORE: readonly IgnoreDraft[] = [{ attribute: 'Class', pattern: { value: '^CACS:', report: unreachable } }];

/** PRIV_LVL_GROUP_TEMPLATE's `{n}` is the level: TACACS+ levels 0-15 (RFC 8907 §8.1). */
export function privLvlRule(template: Located<string>): RuleDraft {
  return {
    label: 'PRIV_LVL_GROUP_TEMPLATE',
    attributes: ['priv-lvl'],
    test: { kind: 'range', min: 0, max: 15 },
    groups: [{ value: template.value.replaceAll('{n}', '{0}'), report: template.report }],
    stop: false,
  };
}

/** The built-in patterns are constants this module's tests compile; a problem with them is a bug here. */
function unreachable(message: string): never {
  throw new Error(`built-in role rule: ${message}`);
}

import { compileRules, type Located, type RuleDraft, type RulesDraft } from '../roles/compile.js';
import { BUILT_IN_IGNORE, builtInRules, privLvlRule, ROLE_ATTRIBUTES } from '../roles/defaults.js';
import type { RoleRules } from '../roles/rules.js';
import { readRulesFile, type FileProblem, type RulesFile } from '../roles/rules-file.js';
import { escapeRegExp } from '../roles/template.js';
import type { EnvReader } from './env-reader.js';

export type { RoleRules } from '../roles/rules.js';
export { createRoleMapper } from '../roles/engine.js';

/**
 * The group mapping: ROLE_RULES_FILE when set, else ROLE_MAP, else the built-in rules. DEFAULT_GROUPS,
 * SUPERUSER_GROUPS, STAFF_GROUPS, GROUP_ALLOW, GROUP_DENY_PREFIXES and REQUIRE_ROLE apply to all three, but a
 * setting the rules file also makes is refused rather than merged, so nobody has to guess which one wins.
 */
export function readRoleConfig(read: EnvReader): RoleRules {
  const env: EnvSettings = {
    defaultGroups: envList(read, 'DEFAULT_GROUPS'),
    superuserGroups: envList(read, 'SUPERUSER_GROUPS'),
    staffGroups: envList(read, 'STAFF_GROUPS'),
    allow: envList(read, 'GROUP_ALLOW'),
    denyPrefixes: read.raw('GROUP_DENY_PREFIXES') === undefined ? undefined : read.list('GROUP_DENY_PREFIXES'),
    requireRole: read.raw('REQUIRE_ROLE') === undefined ? undefined : read.boolean('REQUIRE_ROLE', false),
  };
  const path = read.optionalString('ROLE_RULES_FILE');
  if (path === undefined) {
    const privLvl = readPrivLvlTemplate(read);
    const roleMap = readRoleMap(read);
    return compileRules({
      origin: roleMap === undefined ? 'built-in rules' : 'ROLE_MAP',
      rules: roleMap === undefined ? builtInRules(privLvl) : [...roleMap, ...(privLvl ? [privLvlRule(privLvl)] : [])],
      ignore: BUILT_IN_IGNORE,
      allow: env.allow ?? [],
      denyPrefixes: env.denyPrefixes ?? [],
      defaultGroups: env.defaultGroups ?? [],
      superuserGroups: env.superuserGroups ?? [],
      staffGroups: env.staffGroups ?? [],
      requireRole: env.requireRole ?? false,
    });
  }

  for (const variable of ['ROLE_MAP', 'PRIV_LVL_GROUP_TEMPLATE']) {
    if (read.raw(variable) !== undefined) read.problem(variable, `cannot be combined with ROLE_RULES_FILE; write it as rules in ${path}`);
  }
  const origin = `ROLE_RULES_FILE ${path}`;
  // Collected and sorted so that parse problems and the later compile problems read top to bottom.
  const problems: FileProblem[] = [];
  const file = readRulesFile(path, (problem) => problems.push(problem));
  const rules = compileRules(file === undefined ? emptyDraft(origin) : fileDraft(read, path, file, env));
  const order = (problem: FileProblem) => (problem.position ? problem.position.line * 1e6 + problem.position.col : 0);
  for (const problem of problems.sort((a, b) => order(a) - order(b))) {
    read.problem('ROLE_RULES_FILE', problem.position ? `${path}:${problem.position.line}:${problem.position.col}: ${problem.message}` : problem.message);
  }
  return rules;
}

/** The file's settings, each shared setting from the env when the file leaves it out. */
function fileDraft(read: EnvReader, path: string, file: RulesFile, env: EnvSettings): RulesDraft {
  const either = <T>(variable: string, key: keyof RulesFile & keyof EnvSettings, fromFile: T | undefined, fromEnv: T | undefined): T | undefined => {
    if (fromFile !== undefined && fromEnv !== undefined) read.problem(variable, `is also set in ${path} (${key}); set it in one place`);
    return fromFile ?? fromEnv;
  };
  return {
    origin: `ROLE_RULES_FILE ${path}`,
    rules: file.rules,
    ignore: file.ignore ?? [],
    allow: either('GROUP_ALLOW', 'allow', file.allow, env.allow) ?? [],
    denyPrefixes: either('GROUP_DENY_PREFIXES', 'denyPrefixes', file.denyPrefixes, env.denyPrefixes) ?? [],
    defaultGroups: either('DEFAULT_GROUPS', 'defaultGroups', file.defaultGroups, env.defaultGroups) ?? [],
    superuserGroups: either('SUPERUSER_GROUPS', 'superuserGroups', file.superuserGroups, env.superuserGroups) ?? [],
    staffGroups: either('STAFF_GROUPS', 'staffGroups', file.staffGroups, env.staffGroups) ?? [],
    requireRole: either('REQUIRE_ROLE', 'requireRole', file.requireRole, env.requireRole) ?? false,
  };
}

interface EnvSettings {
  readonly defaultGroups: Located<string>[] | undefined;
  readonly superuserGroups: Located<string>[] | undefined;
  readonly staffGroups: Located<string>[] | undefined;
  readonly allow: Located<string>[] | undefined;
  readonly denyPrefixes: string[] | undefined;
  readonly requireRole: boolean | undefined;
}

/** Comma-separated; undefined when unset, so a rules file's setting can be told apart from an empty one. */
function envList(read: EnvReader, variable: string): Located<string>[] | undefined {
  if (read.raw(variable) === undefined) return undefined;
  return read.list(variable).map((value) => ({ value, report: (problem) => read.problem(variable, problem) }));
}

function readPrivLvlTemplate(read: EnvReader): Located<string> | undefined {
  const template = read.string('PRIV_LVL_GROUP_TEMPLATE', 'tacacs-priv-{n}');
  const report = (problem: string) => read.problem('PRIV_LVL_GROUP_TEMPLATE', problem);
  if (template === 'none') return undefined;
  if (!template.includes('{n}')) report(`must contain {n} (the privilege level) or be "none", got "${template}"`);
  return { value: template, report };
}

/**
 * `ROLE_MAP=admin:netbox-admin,ro:netbox-readonly`: a role name, as the built-in rules would see it in Class,
 * shell:roles, shell:role or role (Cisco-AVPair included), gives the group; exact and ignoring case. Unmapped role
 * names give nothing. The last colon separates, so a role name may contain colons.
 */
function readRoleMap(read: EnvReader): RuleDraft[] | undefined {
  if (read.raw('ROLE_MAP') === undefined) return undefined;
  const report = (problem: string) => read.problem('ROLE_MAP', problem);
  return read.list('ROLE_MAP').flatMap((entry): RuleDraft[] => {
    const colon = entry.lastIndexOf(':');
    const [role, group] = [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
    if (colon < 0 || role === '' || group === '') {
      report(`"${entry}" is not role:group`);
      return [];
    }
    return [
      {
        label: `ROLE_MAP "${role}:${group}"`,
        attributes: ['Class', ...ROLE_ATTRIBUTES],
        test: { kind: 'regex', pattern: { value: `^${escapeRegExp(role)}$`, report }, ignoreCase: true },
        groups: [{ value: group, report }],
        stop: false,
      },
    ];
  });
}

function emptyDraft(origin: string): RulesDraft {
  return { origin, rules: [], ignore: [], allow: [], denyPrefixes: [], defaultGroups: [], superuserGroups: [], staffGroups: [], requireRole: false };
}

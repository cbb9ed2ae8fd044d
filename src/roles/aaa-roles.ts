import type { Logger } from '../log.js';
import { compileRules } from './compile.js';
import { BUILT_IN_IGNORE, builtInRules } from './defaults.js';
import { RuleEngine } from './engine.js';

export interface AaaRolesOptions {
  readonly defaultGroups: readonly string[];
  /** `tacacs-priv-{n}` style; undefined: a privilege level names no group. */
  readonly privLvlGroupTemplate: string | undefined;
}

/**
 * The built-in rules with the two settings the gateway read before rules existed. Only until the composition root
 * takes `createRoleMapper(readRoleConfig(...))`, which validates the same settings with the rest of the config.
 */
export class AaaRolesAsGroups extends RuleEngine {
  constructor(options: AaaRolesOptions, logger: Logger) {
    const located = (value: string) => ({ value, report: refuse });
    super(
      compileRules({
        origin: 'built-in rules',
        rules: builtInRules(options.privLvlGroupTemplate === undefined ? undefined : located(options.privLvlGroupTemplate)),
        ignore: BUILT_IN_IGNORE,
        allow: [],
        denyPrefixes: [],
        defaultGroups: options.defaultGroups.map(located),
        superuserGroups: [],
        staffGroups: [],
        requireRole: false,
      }),
      logger,
    );
  }
}

/** These settings were never checked at start before; a name NetBox cannot take stops the start now. */
function refuse(message: string): never {
  throw new Error(`role mapping: ${message}`);
}

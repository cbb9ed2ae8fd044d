import type { AttributeBag } from '../aaa/attributes.js';
import type { Logger } from '../log.js';
import type { RoleDecision, RoleMapper } from './types.js';

/** NetBox stores group names up to 150 characters. */
const MAX_GROUP_NAME = 150;

/** The TACACS+ authorization arguments the mapper reads: a server may make them mandatory (RFC 8907 §6.1). */
export const TACACS_ROLE_ARGUMENTS = ['shell:roles', 'shell:role', 'role', 'cisco-av-pair', 'priv-lvl'] as const;

export interface AaaRolesOptions {
  readonly defaultGroups: readonly string[];
  /** `tacacs-priv-{n}` style; undefined: a privilege level names no group. */
  readonly privLvlGroupTemplate: string | undefined;
}

/**
 * The first, fixed mapping from what AAA servers commonly send to NetBox group names, on top of the default
 * groups. A rule engine replaces it later behind RoleMapper.
 * - RADIUS: every Class value; every Cisco-AVPair `shell:roles=` / `shell:role=` value.
 * - TACACS+ authorization arguments: `shell:roles` / `shell:role`, `role`, `cisco-av-pair` values holding
 *   `shell:roles=...`, and `priv-lvl` through the template (so `priv-lvl=15` becomes `tacacs-priv-15`).
 */
export class AaaRolesAsGroups implements RoleMapper {
  constructor(
    private readonly options: AaaRolesOptions,
    private readonly logger: Logger,
  ) {}

  map(attributes: AttributeBag): RoleDecision {
    const groups = new Set(this.options.defaultGroups);
    const add = (name: string, source: string) => this.#add(groups, name, source);
    for (const value of attributes.all('Class')) {
      // ISE adds `CACS:<session id>` to every Access-Accept: an accounting handle, not a role.
      if (!value.startsWith('CACS:')) add(value.trim(), 'Class');
    }
    for (const name of ['Cisco-AVPair', 'cisco-av-pair']) {
      for (const pair of attributes.all(name)) for (const role of shellRoles(pair)) add(role, name);
    }
    for (const name of ['shell:roles', 'shell:role', 'role']) {
      for (const value of attributes.all(name)) for (const role of roleList(value)) add(role, name);
    }
    const template = this.options.privLvlGroupTemplate;
    if (template !== undefined) {
      for (const level of attributes.all('priv-lvl')) {
        if (/^\d{1,2}$/.test(level.trim()) && Number(level) <= 15) add(template.replaceAll('{n}', String(Number(level))), 'priv-lvl');
        else this.logger.warn({ value: level }, 'priv-lvl is not a level from 0 to 15; ignored');
      }
    }
    return { groups: [...groups] };
  }

  #add(groups: Set<string>, name: string, source: string): void {
    if (name === '') return;
    if (name.length > MAX_GROUP_NAME) {
      this.logger.warn({ source, length: name.length }, 'role name too long for a NetBox group; ignored');
      return;
    }
    groups.add(name);
  }
}

/**
 * Role names from one Cisco-AVPair value such as `shell:roles="network-admin vdc-admin"`, `shell:role=ops`
 * or `shell:roles*a,b` (`*` marks an optional attribute in Cisco's syntax). Anything else yields nothing.
 */
export function shellRoles(pair: string): string[] {
  const match = /^\s*shell:roles?\s*[=*]\s*(.*)$/i.exec(pair);
  return match?.[1] ? roleList(match[1]) : [];
}

/** `"a b"`, `'a,b'`, `a, b c`: names separated by spaces or commas, surrounding quotes dropped. */
function roleList(value: string): string[] {
  const list = value.trim().replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
  return list
    .split(/[\s,]+/)
    .map((role) => role.replace(/^["']|["']$/g, ''))
    .filter((role) => role !== '');
}

import type { AttributeBag } from '../aaa/attributes.js';
import type { Logger } from '../log.js';
import type { RoleDecision, RoleMapper } from './types.js';

/** NetBox stores group names up to 150 characters. */
const MAX_GROUP_NAME = 150;

/**
 * The first, fixed mapping: every Class value and every Cisco-AVPair `shell:roles=` / `shell:role=` value
 * names a NetBox group, on top of the default groups. A rule engine replaces this later behind RoleMapper.
 */
export class AaaRolesAsGroups implements RoleMapper {
  constructor(
    private readonly defaultGroups: readonly string[],
    private readonly logger: Logger,
  ) {}

  map(attributes: AttributeBag): RoleDecision {
    const groups = new Set(this.defaultGroups);
    for (const value of attributes.all('Class')) {
      // ISE adds `CACS:<session id>` to every Access-Accept: an accounting handle, not a role.
      if (value.startsWith('CACS:')) continue;
      this.#add(groups, value.trim(), 'Class');
    }
    for (const pair of attributes.all('Cisco-AVPair')) {
      for (const role of shellRoles(pair)) this.#add(groups, role, 'Cisco-AVPair');
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
  if (!match?.[1]) return [];
  const list = match[1].trim().replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
  return list
    .split(/[\s,]+/)
    .map((role) => role.replace(/^["']|["']$/g, ''))
    .filter((role) => role !== '');
}

import type { AttributeBag } from '../aaa/attributes.js';

/** What the AAA attributes mean for NetBox, and why. */
export interface RoleDecision {
  /** NetBox group names, defaults included, after ignore/allow/deny filtering; deduplicated, stable order. */
  readonly groups: readonly string[];
  /** A member of a superuser group (see SUPERUSER_GROUPS). */
  readonly superuser: boolean;
  /** A member of a staff group (is_staff, NetBox 4.4 and older). */
  readonly staff: boolean;
  /** REQUIRE_ROLE is on and no rule matched: the login must be refused. */
  readonly denied: boolean;
  /** Human-readable lines: which rule matched what, what was ignored or refused and why. */
  readonly explanation: readonly string[];
}

export interface RoleMapper {
  map(attributes: AttributeBag): RoleDecision;
  /**
   * Whether `group` is one the rules or the defaults can produce. `managed` group sync adds and removes only
   * such groups, leaving groups an admin assigned by hand alone.
   */
  manages(group: string): boolean;
}

import type { AttributeBag } from '../aaa/attributes.js';

/** What the AAA attributes mean for NetBox. A later mapping engine adds superuser, staff and explanations. */
export interface RoleDecision {
  /** NetBox group names, defaults included, deduplicated, in a stable order. */
  readonly groups: readonly string[];
}

export interface RoleMapper {
  map(attributes: AttributeBag): RoleDecision;
}

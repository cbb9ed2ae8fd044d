/**
 * Which of a user's NetBox groups the gateway granted because of what the AAA server said, for the `managed` sync
 * mode: only those are ever taken away again. A group an administrator assigned by hand in NetBox is not in the
 * record, and stays, whatever the rules could produce.
 *
 * The record is the gateway's (its store, beside the sessions), not marks in NetBox: NetBox has no place for a mark
 * on one user's membership of one group (a group's description would mark it for every member), and its change log
 * is pruned and needs another right. Losing the record must never keep anyone in a group the AAA server no longer
 * sends, so a user without a record is adopted as the gateway has always seen them: every group of theirs the rules
 * can produce counts as granted, and the first login after the loss (or after the upgrade) removes those it does not
 * grant again. After that login, groups an administrator assigns by hand stay.
 */
export interface GroupGrantStore {
  /** The group names the gateway granted this NetBox user, or undefined when there is no record. */
  get(netboxUserId: number): Promise<readonly string[] | undefined>;
  set(netboxUserId: number, groups: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface ManagedSync {
  /** The user's groups after this login. */
  readonly groups: readonly string[];
  /** The groups the gateway owns after this login: the record once the change is in NetBox. */
  readonly granted: readonly string[];
  /**
   * What to record before the change is made: everything owned before or after it, so that a change which fails
   * half-way, or a record write which fails after it, can only leave the record claiming too much, never too little.
   */
  readonly grantedMeanwhile: readonly string[];
}

/**
 * The managed sync of one login, by name. `current` is what NetBox has, `wanted` what the rules gave, `granted` the
 * record (undefined when there is none, and then every current group `manages` can produce counts as granted).
 */
export function managedSync(current: readonly string[], wanted: readonly string[], granted: readonly string[] | undefined, manages: (group: string) => boolean): ManagedSync {
  const wantedSet = new Set(wanted);
  const currentSet = new Set(current);
  const owned = new Set(granted ?? current.filter(manages));
  const groups = unique([...current.filter((group) => wantedSet.has(group) || !owned.has(group)), ...wanted]);
  // Owned and still wanted, or added now; a wanted group already there by hand stays the administrator's.
  const grantedAfter = unique(wanted.filter((group) => owned.has(group) || !currentSet.has(group)));
  return { groups, granted: grantedAfter, grantedMeanwhile: unique([...owned, ...grantedAfter]) };
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

import type { ServerTroubleReason } from './types.js';

/** Why and until when a server is held down. */
export interface DeadServerRecord {
  readonly until: number;
  readonly reason: ServerTroubleReason;
  readonly message: string;
}

/**
 * Hold-downs shared by the gateways on one store: a server one of them found dead, the others skip too for the rest
 * of AAA_DEAD_TIME, instead of each paying its timeout once. Servers are known by their configured names, which every
 * replica shares. Each gateway still decides on its own which login tries a server again when the time is up.
 */
export interface DeadServerStore {
  /** Records `server` as dead; a later `until` already recorded stays. */
  markDead(server: string, record: DeadServerRecord): Promise<void>;
  /** The server answered: nobody need skip it any longer. */
  markUp(server: string): Promise<void>;
  /** The servers held down at `now`, by name. */
  heldDown(now: number): Promise<ReadonlyMap<string, DeadServerRecord>>;
  close(): Promise<void>;
}

/** A NetBox user as provisioning left it. */
export interface NetboxUser {
  readonly id: number;
  /** The username as NetBox stores it (its case may differ from what was typed). */
  readonly username: string;
  readonly groups: readonly string[];
}

export interface UserProfile {
  readonly firstName?: string;
  readonly lastName?: string;
  readonly email?: string;
}

export interface ProvisionRequest {
  readonly username: string;
  readonly groups: readonly string[];
  readonly profile: UserProfile;
  /** In a superuser group: password mode grants the gateway-managed all-objects permission through the group. */
  readonly superuser: boolean;
  /** In a staff group: is_staff on NetBox 4.4 and older; ignored (with one warning) on 4.5+. */
  readonly staff: boolean;
}

/**
 * `replace`: the user's groups become exactly the mapped ones. `managed`: only groups the rules and defaults can
 * produce are added or removed; hand-assigned groups stay. `add`: groups are only ever added.
 */
export type GroupSyncMode = 'replace' | 'managed' | 'add';

export interface Provisioner {
  /** Creates or updates the user and its groups; idempotent and safe to run concurrently for one user. */
  provision(request: ProvisionRequest): Promise<NetboxUser>;
}

/** NetBox's own cookies (name → value), held by the gateway on the user's behalf and never sent to the browser. */
export type NetboxCookieJar = Readonly<Record<string, string>>;

/** Gets a user a real NetBox web session (Django `sessionid`). */
export interface WebSessionOpener {
  /**
   * Why this mode cannot open a session for a NetBox user of this name, or undefined when it can. Asked before any
   * AAA server is, so a name that cannot work costs no AAA request and creates no NetBox user.
   */
  usernameProblem(username: string): string | undefined;
  open(user: NetboxUser): Promise<NetboxCookieJar>;
  /** Ends the NetBox web session behind these cookies (NetBox's GET /logout/). Best effort: never throws. */
  close(cookies: NetboxCookieJar): Promise<void>;
}

/** NetBox did not answer usably: timeout, connection error, 5xx, or a 4xx the gateway cannot fix by itself. */
export class NetboxUnavailable extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NetboxUnavailable';
  }
}

/** The configuration refuses this user (AUTO_CREATE_USER=false and no such NetBox user). */
export class UserNotAllowed extends Error {
  constructor(readonly username: string) {
    super(`user ${username} does not exist in NetBox and AUTO_CREATE_USER is false`);
    this.name = 'UserNotAllowed';
  }
}

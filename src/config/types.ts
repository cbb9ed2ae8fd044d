import type { LogLevel } from '../log.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RadiusConfig {
  /** Tried in this order. */
  readonly servers: readonly HostPort[];
  readonly secret: string;
  readonly timeoutMs: number;
  /** Tries per server (1 = no retransmission). */
  readonly retries: number;
  readonly nasIdentifier: string;
}

export type NetboxSessionMode = 'password' | 'remote-user';

export interface Config {
  readonly listen: HostPort;
  readonly logLevel: LogLevel;
  /** Addresses/CIDRs whose X-Forwarded-* headers are believed (express `trust proxy` values); empty: none. */
  readonly trustedProxies: readonly string[];
  readonly netbox: {
    readonly url: URL;
    readonly token: string;
    readonly timeoutMs: number;
    readonly sessionMode: NetboxSessionMode;
    readonly remoteUserHeader: string;
    /** Key from which each NetBox user's gateway-managed password is derived (password mode). */
    readonly passwordSecret: string;
    /** Serve /static/ from here instead of proxying it (bare-metal NetBox). */
    readonly staticRoot: string | undefined;
  };
  readonly provisioning: {
    readonly autoCreateUser: boolean;
    readonly groupSync: boolean;
    readonly defaultGroups: readonly string[];
    readonly profileAttributes: {
      readonly firstName: string | undefined;
      readonly lastName: string | undefined;
      readonly email: string | undefined;
    };
  };
  readonly session: {
    readonly secret: string;
    readonly store: 'sqlite' | 'memory';
    readonly sqlitePath: string;
    readonly idleTimeoutMs: number;
    readonly maxAgeMs: number;
    readonly cookieName: string;
  };
  readonly aaa: {
    readonly method: 'radius';
    /** Total time one login may spend on AAA, all servers and retries included. */
    readonly loginDeadlineMs: number;
    readonly radius: RadiusConfig;
  };
}

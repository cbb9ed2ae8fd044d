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

export type TacacsAuthType = 'pap' | 'ascii' | 'chap';

export interface TacacsServer extends HostPort {
  /** RFC 9887 TACACS+ over TLS 1.3 (no obfuscation, never falls back to plain TCP). */
  readonly tls: boolean;
}

export interface TacacsTlsConfig {
  /** PEM file of the CA(s) that sign the servers' certificates; undefined: the system's trust store. */
  readonly caFile: string | undefined;
  /** Name expected in the server certificate; undefined: the configured host. */
  readonly serverName: string | undefined;
  /** Client certificate and key (PEM files), for servers that require one. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
}

export interface TacacsConfig {
  /** Tried in this order. Plain servers default to port 49, TLS servers to 300. */
  readonly servers: readonly TacacsServer[];
  /** Obfuscation key for plain-TCP servers (RFC 8907 §4.5); unused over TLS. */
  readonly secret: string;
  /** Per server: connect plus the whole exchange of one step. */
  readonly timeoutMs: number;
  readonly authType: TacacsAuthType;
  /** `service=` of authorization and accounting requests, e.g. `shell` or `netbox`. */
  readonly service: string;
  /** The `port` field: a name for the gateway's "line". */
  readonly portName: string;
  /** Ask for authorization after PASS and fail the login when it is refused. */
  readonly authorization: boolean;
  readonly accounting: boolean;
  readonly tls: TacacsTlsConfig;
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
    /** Group name for a TACACS+ `priv-lvl` value, `{n}` standing for the level; undefined: priv-lvl names no group. */
    readonly privLvlGroupTemplate: string | undefined;
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
    /** How often dead sessions are purged (and their end accounted for); not an environment variable. */
    readonly purgeIntervalMs: number;
  };
  readonly aaa: AaaConfig;
}

export type AaaConfig = {
  /** Total time one login may spend on AAA, all servers and retries included. */
  readonly loginDeadlineMs: number;
} & ({ readonly method: 'radius'; readonly radius: RadiusConfig } | { readonly method: 'tacacs'; readonly tacacs: TacacsConfig });

import type { LogLevel } from '../log.js';
import type { GroupSyncMode } from '../netbox/types.js';
import type { RoleRules } from '../roles/rules.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * BlastRADIUS (CVE-2024-3596) policy for replies without a Message-Authenticator: `yes` discards them, `no`
 * accepts them, `auto` accepts them until the server has once sent a signed reply, and discards them after.
 */
export type RequireMessageAuthenticator = 'yes' | 'no' | 'auto';

export interface RadiusServer extends HostPort {
  /** `udp` (RFC 2865) or `radsec` (RFC 6614: RADIUS over TLS on TCP, shared secret "radsec"). */
  readonly transport: 'udp' | 'radsec';
  readonly requireMessageAuthenticator: RequireMessageAuthenticator;
}

export interface RadiusConfig {
  /** Tried in this order. */
  readonly servers: readonly RadiusServer[];
  /** The shared secret for UDP servers; RadSec always uses "radsec" (RFC 6614 §2.3). */
  readonly secret: string;
  readonly timeoutMs: number;
  /** Tries per server (1 = no retransmission). */
  readonly retries: number;
  readonly nasIdentifier: string;
  /** Sent as NAS-IP-Address when set, so ISE/NPS can match the gateway as a network device. */
  readonly nasIpAddress: string | undefined;
  /** Local address UDP requests are sent from; undefined: the system's choice. */
  readonly sourceAddress: string | undefined;
  /** Per-try timeout of the answer to an Access-Challenge (OTP, push approval take longer). */
  readonly challengeTimeoutMs: number;
  /** RFC 2866 Accounting-Request Start/Stop per gateway session. */
  readonly accounting: { readonly enabled: boolean; readonly servers: readonly RadiusServer[] };
  /** Certificates for `radsec` servers. */
  readonly tls: TlsClientConfig;
  /** Background Status-Server (RFC 5997) probes of dead servers; off by default, not every server answers them. */
  readonly probe: boolean;
}

export type TacacsAuthType = 'pap' | 'ascii' | 'chap';

export interface TacacsServer extends HostPort {
  /** RFC 9887 TACACS+ over TLS 1.3 (no obfuscation, never falls back to plain TCP). */
  readonly tls: boolean;
}

/** Client-side TLS settings of an AAA protocol (TACACS+ over TLS, RadSec). */
export interface TlsClientConfig {
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
  /** Background TCP/TLS connect probes of dead servers. */
  readonly probe: boolean;
  /** Ask for authorization after PASS and fail the login when it is refused. */
  readonly authorization: boolean;
  readonly accounting: boolean;
  readonly tls: TlsClientConfig;
}

export type NetboxSessionMode = 'password' | 'remote-user';

/** How the name a user typed becomes the NetBox username (the AAA server always gets what was typed). */
export interface UsernameRules {
  /** `EXAMPLE\\alice` → `alice`. */
  readonly stripDomain: boolean;
  /** `alice@example.net` → `alice`. */
  readonly stripRealm: boolean;
  /**
   * When stripping, the domains / realms that may be stripped (lower case); a name with another one is refused,
   * so `alice@elsewhere` cannot become NetBox's `alice`. Empty: any.
   */
  readonly allowedDomains: readonly string[];
  readonly allowedRealms: readonly string[];
  readonly caseFold: 'preserve' | 'lower';
}

/** The listener speaks HTTPS with these PEM files (re-read on SIGHUP). */
export interface ListenerTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** The gateway as the front door: what it accepts from the network and what it tells whom. */
export interface EdgeConfig {
  readonly tls: ListenerTls | undefined;
  /** A second, plain listener that only redirects to HTTPS and answers /-/health. */
  readonly httpRedirectPort: number | undefined;
  /** How long requests in flight may take to finish after SIGTERM or SIGINT. */
  readonly shutdownGraceMs: number;
  readonly maxConnections: number;
  /** A client must have sent its whole request head within this; idle half-open connections are cut after it. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Strict-Transport-Security max-age on answers to HTTPS requests; 0: none. */
  readonly hstsMaxAgeSeconds: number;
  /** IPs, CIDRs or `loopback`: who gets the operator detail of /-/ready (judged on the trusted client address). */
  readonly adminAllowFrom: readonly string[];
}

/** Brute-force throttling of the login form (README: Login regulation). */
export interface RegulationConfig {
  /** Failed sign-ins of one user name within `findTimeMs` that ban it; 0 turns regulation off. */
  readonly maxRetries: number;
  /** Likewise per client address (an IPv6 client by its /64); 0: addresses are not counted. */
  readonly maxRetriesPerAddress: number;
  readonly findTimeMs: number;
  readonly banTimeMs: number;
}

export interface Config {
  readonly listen: HostPort;
  readonly logLevel: LogLevel;
  /** Addresses/CIDRs whose X-Forwarded-* headers are believed (express `trust proxy` values); empty: none. */
  readonly trustedProxies: readonly string[];
  readonly edge: EdgeConfig;
  readonly netbox: {
    readonly url: URL;
    readonly token: string;
    readonly timeoutMs: number;
    /** Connections the proxy keeps to NetBox at most; requests past it wait for one to be free. */
    readonly maxConnections: number;
    readonly sessionMode: NetboxSessionMode;
    readonly remoteUserHeader: string;
    /** NetBox's REMOTE_AUTH_GROUP_HEADER and REMOTE_AUTH_GROUP_SEPARATOR, for the user's groups in remote-user mode. */
    readonly remoteUserGroupHeader: string;
    readonly remoteUserGroupSeparator: string;
    /** Key from which each NetBox user's gateway-managed password is derived (password mode). */
    readonly passwordSecret: string;
    /** Serve /static/ from here instead of proxying it (bare-metal NetBox). */
    readonly staticRoot: string | undefined;
  };
  readonly provisioning: {
    readonly autoCreateUser: boolean;
    readonly syncMode: GroupSyncMode;
    readonly username: UsernameRules;
    readonly profileAttributes: {
      readonly firstName: string | undefined;
      readonly lastName: string | undefined;
      readonly email: string | undefined;
    };
  };
  readonly session: {
    readonly secret: string;
    readonly store: 'sqlite' | 'memory' | 'redis';
    /** With store `redis`. */
    readonly redis: RedisConfig | undefined;
    readonly sqlitePath: string;
    readonly idleTimeoutMs: number;
    readonly maxAgeMs: number;
    readonly cookieName: string;
    /** How often dead sessions are purged (and their end accounted for); not an environment variable. */
    readonly purgeIntervalMs: number;
  };
  readonly aaa: AaaConfig;
  /** From the rules file or the role environment variables; the built-in rules when neither is set. */
  readonly roles: RoleRules;
  readonly regulation: RegulationConfig;
}

/** Redis or Valkey, standalone or through Sentinel. Holds the password: never log it whole. */
export interface RedisConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly database: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** REDIS_TLS_CA_FILE's certificates; the system's trust store when undefined. */
  readonly caPem: string | undefined;
  readonly keyPrefix: string;
  readonly sentinels: readonly HostPort[];
  readonly sentinelMaster: string | undefined;
  /** The sentinels' own password (REDIS_SENTINEL_PASSWORD), when they require one. */
  readonly sentinelPassword: string | undefined;
}

export type AaaConfig = {
  /** Total time one login may spend on AAA, all servers and retries included. */
  readonly loginDeadlineMs: number;
  /** How long a server that timed out or failed is skipped by later logins. */
  readonly deadTimeMs: number;
  /** How often dead servers are probed when probing is on for the protocol. */
  readonly probeIntervalMs: number;
} & ({ readonly method: 'radius'; readonly radius: RadiusConfig } | { readonly method: 'tacacs'; readonly tacacs: TacacsConfig });

import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startGateway, type RunningGateway } from '../../src/main.js';
import { startNetboxDouble, type NetboxDouble, type NetboxDoubleOptions } from '../netbox-double/index.js';
import { RadiusTestServer, type RadiusTestServerOptions } from './radius-server.js';
import { TacacsTestServer, type TacacsTestServerOptions } from './tacacs-server.js';

export const RADIUS_SECRET = 'stack-shared-secret';

/** Users the stack's RADIUS test server knows. */
export const STACK_USERS: RadiusTestServerOptions['users'] = {
  alice: {
    password: 'alice-Passw0rd',
    attributes: [
      ['Class', 'netbox-admin'],
      ['Class', 'CACS:0a0000010000abcd'],
      ['Cisco-AVPair', 'shell:roles="dcim-editors ipam-editors"'],
      ['Reply-Message', 'Alice Example'],
    ],
  },
  bob: { password: 'bob-Passw0rd', attributes: [['Cisco-AVPair', 'shell:roles=netbox-readonly']] },
  nobody: { password: 'nobody-Passw0rd' },
  /** Two-factor: after the password, a one-time code, then a push confirmation word. */
  otto: {
    password: 'otto-Passw0rd',
    attributes: [['Class', 'netbox-ops']],
    challenges: [
      { prompt: 'Enter the 6-digit code from your token <b>now</b>', answer: '123456' },
      { prompt: 'Type "yes" to confirm', answer: 'yes' },
    ],
  },
};

export const TACACS_KEY = 'stack-tacacs-key-0123456789';

/** Users the stack's TACACS+ test server knows, with what its authorization answers. */
export const STACK_TACACS_USERS: TacacsTestServerOptions['users'] = {
  alice: {
    password: 'alice-Passw0rd',
    authorization: { status: 'pass-add', args: ['priv-lvl=15', 'shell:roles="netbox-admin netbox-ops"', 'role*dcim-editors'] },
  },
  bob: { password: 'bob-Passw0rd', authorization: { status: 'pass-repl', args: ['priv-lvl=1'] } },
  carol: { password: 'carol-Passw0rd', authorization: { status: 'fail', args: [], serverMsg: 'Not in the NetBox group' } },
};

export interface Stack {
  readonly gateway: RunningGateway;
  readonly netbox: NetboxDouble;
  readonly radius: RadiusTestServer;
  readonly tacacs: TacacsTestServer;
  readonly config: Config;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra environment for the gateway's config (overrides the stack's); a function gets the test servers' ports. */
  readonly env?: Record<string, string> | ((ports: { readonly radius: number; readonly tacacs: number }) => Record<string, string>);
  /** Applied to the loaded config, for values the environment cannot express in a test's time (e.g. 1 s idle timeout). */
  readonly adjust?: (config: Config) => Config;
  readonly netbox?: NetboxDoubleOptions;
  /** RADIUS servers to put before the stack's own one (e.g. a dead port, to test failover). */
  readonly radiusServersBefore?: readonly string[];
  /** `tacacs`: sign in against the stack's TACACS+ test server instead of RADIUS. */
  readonly method?: 'radius' | 'tacacs';
  /** Replaces STACK_TACACS_USERS. */
  readonly tacacsUsers?: TacacsTestServerOptions['users'];
  /** Use these RADIUS servers (e.g. a real FreeRADIUS) instead of the stack's test server. */
  readonly radius?: { readonly servers: readonly string[]; readonly secret: string };
  readonly logger?: Logger;
}

/** The gateway wired to a NetBox double and our RADIUS test server, all on loopback with random ports. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const netbox = await startNetboxDouble(options.netbox);
  const radius = new RadiusTestServer({ secret: RADIUS_SECRET, users: STACK_USERS });
  const radiusRunning = await radius.start({ host: '127.0.0.1', port: 0 });
  const tacacs = new TacacsTestServer({ key: TACACS_KEY, users: options.tacacsUsers ?? STACK_TACACS_USERS });
  const tacacsRunning = await tacacs.start({ host: '127.0.0.1', port: 0 });
  const { value: token } = netbox.state.addServiceToken(1);
  const aaaEnv: Record<string, string> =
    options.method === 'tacacs'
      ? { AAA_METHOD: 'tacacs', TACACS_SERVERS: `127.0.0.1:${tacacsRunning.port}`, TACACS_SECRET: TACACS_KEY, TACACS_TIMEOUT: '1' }
      : {
          RADIUS_SERVERS: (options.radius?.servers ?? [...(options.radiusServersBefore ?? []), `127.0.0.1:${radiusRunning.port}`]).join(','),
          RADIUS_SECRET: options.radius?.secret ?? RADIUS_SECRET,
          RADIUS_TIMEOUT: '0.3',
          RADIUS_RETRIES: '1',
        };
  let config = loadConfig({
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: '0',
    NETBOX_URL: netbox.url,
    NETBOX_TOKEN: token,
    SESSION_SECRET: 'stack-session-secret-0123456789abcdef',
    SESSION_STORE: 'memory',
    AAA_LOGIN_TIMEOUT: '3',
    NETBOX_TIMEOUT: '2',
    LOG_LEVEL: 'silent',
    ...aaaEnv,
    ...(typeof options.env === 'function' ? options.env({ radius: radiusRunning.port, tacacs: tacacsRunning.port }) : options.env),
  });
  if (options.adjust) config = options.adjust(config);
  const gateway = await startGateway(config, options.logger ?? silentLogger);
  return {
    gateway,
    netbox,
    radius,
    tacacs,
    config,
    close: async () => {
      await gateway.close();
      await radiusRunning.close();
      await tacacsRunning.close();
      await netbox.close();
    },
  };
}

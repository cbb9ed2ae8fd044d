import type { Logger } from '../../src/log.js';
import { NetboxClient } from '../../src/netbox/client.js';
import { derivePassword } from '../../src/netbox/password.js';
import { RestProvisioner, type RestProvisionerOptions } from '../../src/netbox/provisioning.js';
import type { ProvisionRequest } from '../../src/netbox/types.js';
import { startNetboxDouble, type NetboxDouble, type NetboxDoubleOptions, type NetboxVersion } from '../netbox-double/index.js';
import { SqliteGroupGrantStore } from '../../src/netbox/sqlite-group-grants.js';

export const SECRET = 'test-password-secret';
export const passwordFor = (username: string): string => derivePassword(SECRET, username);

/** What a promise rejected with; throws when it resolved instead. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger: Logger = {
    debug: (fields, message) => void entries.push({ level: 'debug', fields, message }),
    info: (fields, message) => void entries.push({ level: 'info', fields, message }),
    warn: (fields, message) => void entries.push({ level: 'warn', fields, message }),
    error: (fields, message) => void entries.push({ level: 'error', fields, message }),
    child: () => logger,
  };
  return { logger, entries };
}

export interface Fixture {
  readonly netbox: NetboxDouble;
  readonly client: NetboxClient;
  readonly token: string;
  readonly logger: Logger;
  readonly entries: LogEntry[];
}

/** A double with a service token (v1 unless asked) and a client using it. */
export async function fixture(options: NetboxDoubleOptions & { tokenVersion?: 1 | 2; timeoutMs?: number } = {}): Promise<Fixture> {
  const netbox = await startNetboxDouble(options);
  const { value: token } = netbox.state.addServiceToken(options.tokenVersion ?? 1);
  const { logger, entries } = recordingLogger();
  const client = new NetboxClient({ baseUrl: new URL(netbox.url), token, timeoutMs: options.timeoutMs ?? 2000, logger });
  return { netbox, client, token, logger, entries };
}

/** The releases the double plays that the provisioning suites run against. */
export const VERSIONS: readonly NetboxVersion[] = ['4.4', '4.6.0', '4.6.8'];

/** Groups the test role rules can produce: `netbox-*` and `ops`; anything else counts as hand-assigned. */
export const manages = (group: string): boolean => group === 'ops' || group.startsWith('netbox-');

/** A provisioner with the options main.ts would give it for `replace` sync and no superuser or staff groups. */
export function provisionerFor(f: Fixture, options: Partial<RestProvisionerOptions> = {}): RestProvisioner {
  return new RestProvisioner({
    client: f.client,
    autoCreateUser: true,
    syncMode: 'replace',
    manages,
    grants: new SqliteGroupGrantStore(':memory:'),
    superuserGroups: [],
    grantSuperuserPermission: false,
    manageStaff: false,
    passwordFor,
    logger: f.logger,
    ...options,
  });
}

export const request = (overrides: Partial<ProvisionRequest> = {}): ProvisionRequest => ({
  username: 'alice',
  groups: ['ops', 'netbox-readers'],
  profile: { firstName: 'Alice', lastName: 'Liddell', email: 'alice@example.com' },
  superuser: false,
  staff: false,
  ...overrides,
});

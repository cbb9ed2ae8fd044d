/**
 * `npm run demo`: the gateway in front of a local NetBox double, signing in against a local RADIUS test
 * server with demo users. Needs nothing but Node.js; for trying the flow, not for production.
 */
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { startGateway } from '../src/main.js';
import { startNetboxDouble } from '../test/netbox-double/index.js';
import { RadiusTestServer } from '../test/support/radius-server.js';

const DEMO_USERS = {
  alice: {
    password: 'alice-Passw0rd',
    attributes: [
      ['Class', 'netbox-admin'],
      ['Cisco-AVPair', 'shell:roles="dcim-editors ipam-editors"'],
    ],
  },
  bob: { password: 'bob-Passw0rd', attributes: [['Cisco-AVPair', 'shell:roles=netbox-readonly']] },
} as const;
const RADIUS_SECRET = 'demo-radius-secret';

const port = process.env.DEMO_PORT ?? '8080';
const netbox = await startNetboxDouble({ port: Number(process.env.DEMO_NETBOX_PORT ?? 0) });
const { value: token } = netbox.state.addServiceToken(1);
const radius = new RadiusTestServer({
  secret: RADIUS_SECRET,
  users: Object.fromEntries(Object.entries(DEMO_USERS).map(([name, user]) => [name, { password: user.password, attributes: user.attributes }])),
});
const radiusRunning = await radius.start({ host: '127.0.0.1', port: 0 });

const config = loadConfig({
  LISTEN_HOST: '127.0.0.1',
  LISTEN_PORT: port,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  NETBOX_URL: netbox.url,
  NETBOX_TOKEN: token,
  SESSION_SECRET: 'demo-only-session-secret-0123456789abcdef',
  SESSION_STORE: 'memory',
  DEFAULT_GROUPS: 'netbox-users',
  RADIUS_SERVERS: `127.0.0.1:${radiusRunning.port}`,
  RADIUS_SECRET,
});
const gateway = await startGateway(config, createLogger(config.logLevel));

process.stdout.write(`
netbox-aaa-gateway demo
  open:      ${gateway.url}/dcim/devices/
  accounts:  ${Object.entries(DEMO_USERS)
    .map(([name, user]) => `${name} / ${user.password}`)
    .join('    ')}
  NetBox:    a local NetBox double at ${netbox.url}; RADIUS: a local test server at 127.0.0.1:${radiusRunning.port}
  stop:      Ctrl+C
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([gateway.close(), radiusRunning.close(), netbox.close()]).then(() => process.exit(0));
  });
}

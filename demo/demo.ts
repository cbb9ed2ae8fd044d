/**
 * `npm run demo` (RADIUS) or `npm run demo -- tacacs`: the gateway in front of a local NetBox double, signing
 * in against a local RADIUS or TACACS+ test server with demo users. Needs nothing but Node.js; for trying the
 * flow, not for production.
 */
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { startGateway } from '../src/main.js';
import { startNetboxDouble } from '../test/netbox-double/index.js';
import { RadiusTestServer } from '../test/support/radius-server.js';
import { TacacsTestServer } from '../test/support/tacacs-server.js';

const ALICE = { name: 'alice', password: 'alice-Passw0rd' };
const BOB = { name: 'bob', password: 'bob-Passw0rd' };
const SECRET = 'demo-shared-secret-0123456789';

const method = process.argv[2] === 'tacacs' ? 'tacacs' : 'radius';

async function startAaa(): Promise<{ env: Record<string, string>; where: string; close(): Promise<void> }> {
  if (method === 'tacacs') {
    const server = new TacacsTestServer({
      key: SECRET,
      users: {
        [ALICE.name]: { password: ALICE.password, authorization: { status: 'pass-add', args: ['priv-lvl=15', 'shell:roles="netbox-admin dcim-editors"'] } },
        [BOB.name]: { password: BOB.password, authorization: { status: 'pass-add', args: ['priv-lvl=1', 'role=netbox-readonly'] } },
      },
    });
    const running = await server.start({ host: '127.0.0.1', port: 0 });
    return {
      env: { AAA_METHOD: 'tacacs', TACACS_SERVERS: `127.0.0.1:${running.port}`, TACACS_SECRET: SECRET },
      where: `TACACS+: a local test server at 127.0.0.1:${running.port}`,
      close: () => running.close(),
    };
  }
  const server = new RadiusTestServer({
    secret: SECRET,
    users: {
      [ALICE.name]: { password: ALICE.password, attributes: [['Class', 'netbox-admin'], ['Cisco-AVPair', 'shell:roles="dcim-editors ipam-editors"']] },
      [BOB.name]: { password: BOB.password, attributes: [['Cisco-AVPair', 'shell:roles=netbox-readonly']] },
    },
  });
  const running = await server.start({ host: '127.0.0.1', port: 0 });
  return {
    env: { RADIUS_SERVERS: `127.0.0.1:${running.port}`, RADIUS_SECRET: SECRET },
    where: `RADIUS: a local test server at 127.0.0.1:${running.port}`,
    close: () => running.close(),
  };
}

const netbox = await startNetboxDouble({ port: Number(process.env.DEMO_NETBOX_PORT ?? 0) });
const { value: token } = netbox.state.addServiceToken(1);
const aaa = await startAaa();
const config = loadConfig({
  LISTEN_HOST: '127.0.0.1',
  LISTEN_PORT: process.env.DEMO_PORT ?? '8080',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  NETBOX_URL: netbox.url,
  NETBOX_TOKEN: token,
  SESSION_SECRET: 'demo-only-session-secret-0123456789abcdef',
  SESSION_STORE: 'memory',
  DEFAULT_GROUPS: 'netbox-users',
  ...aaa.env,
});
const gateway = await startGateway(config, createLogger(config.logLevel));

process.stdout.write(`
netbox-aaa-gateway demo (${method})
  open:      ${gateway.url}/dcim/devices/
  accounts:  ${ALICE.name} / ${ALICE.password}    ${BOB.name} / ${BOB.password}
  NetBox:    a local NetBox double at ${netbox.url}; ${aaa.where}
  stop:      Ctrl+C
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([gateway.close(), aaa.close(), netbox.close()]).then(() => process.exit(0));
  });
}

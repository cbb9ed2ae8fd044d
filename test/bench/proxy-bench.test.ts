import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `npm run bench:proxy` has to keep working on a fresh machine, so it runs here, as short as it goes, with
 * autocannon from npm as the load and without nginx on PATH (/usr/sbin left out). Its figures on a machine busy with
 * the rest of the suite mean nothing and are not judged; that it measures each path, signs in, fills the store and
 * reports every target is.
 */
describe('bench/proxy.ts', () => {
  it('runs without nginx and without wrk, and prints every path, the sign-in cost, the memory figures and the targets', { timeout: 300_000 }, () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'bench', 'proxy.ts'), '--duration', '1', '--rounds', '1', '--sessions', '300', '--load', 'autocannon'],
      { cwd: REPO, encoding: 'utf8', timeout: 240_000, env: { ...process.env, PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':') } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toContain('load from autocannon');
    expect(output).toMatch(/^\| nginx \| not installed \|/m);
    for (const path of ['upstream direct', 'gateway, SQLite store', 'gateway, memory store']) {
      const row = new RegExp(`^\\| ${path} \\| ([\\d,]+) \\|`, 'm').exec(output);
      expect(row, `${path} in\n${output}`).not.toBeNull();
      expect(Number(row![1]!.replaceAll(',', ''))).toBeGreaterThan(0);
    }
    expect(output).toMatch(/a first login cost NetBox \d+ requests, a repeat login 4$/m);
    expect(output).toMatch(/SQLite store with 300 live sessions/);
    // Debian's redis-server is installed wherever the suite runs (the Redis tests need it).
    expect(output).toMatch(/^\| gateway, Redis store \| [\d,]+ \|/m);
    expect(output).toMatch(/gateway req\/s with the Redis store within 20% of SQLite, 10 KB, c=16: [\d.]+×$/m);
    expect(output).toMatch(/RSS \d+ MB at start, \d+ MB after the rounds, \d+ MB with the sessions/);
    expect(output).toMatch(/a last-seen write in the store \(a session.s first request 30 s after the last one pays it\): \d+ µs/);
    const targets = output.slice(output.indexOf('targets:'));
    expect(targets.match(/^ {2}(met |MISS|n\/a ) {2}/gm)).toHaveLength(7);
    expect(targets).toMatch(/n\/a {3}gateway ≥ 0\.25× nginx req\/s, 10 KB, c=16: nginx not installed/);
    expect(targets).toMatch(/met {3}a repeat login costs 4 NetBox requests: 4/);
  });
});

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run bench:session` keeps working; its figures on a machine busy with the suite are not judged. */
describe('bench/session-step.ts', () => {
  it('reads every stored session through the session step and prints the three figures', { timeout: 120_000 }, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'session-step.ts'), '--sessions', '200', '--requests', '1000', '--rounds', '1'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 100_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(output).toMatch(/^ {2}one session: \d+\.\d µs per request$/m);
    expect(output).toMatch(/^ {2}every request another of 200: \d+\.\d µs per request$/m);
    expect(output).toMatch(/^ {2}the same, after another connection rewrote every row: \d+\.\d µs per request$/m);
  });
});

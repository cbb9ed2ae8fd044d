import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { normaliseAttributes, type AttributeBag } from '../../src/aaa/attributes.js';
import { ConfigError, EnvReader, type Env } from '../../src/config/env-reader.js';
import { createRoleMapper, readRoleConfig, type RoleRules } from '../../src/config/roles.js';
import type { Logger } from '../../src/log.js';
import { silentLogger } from '../../src/log.js';
import type { RoleMapper } from '../../src/roles/types.js';

const dir = mkdtempSync(join(tmpdir(), 'roles-test-'));
let files = 0;

/** A rules file with this text; the path is stable within a test file, so messages can be asserted whole. */
export function rulesFile(text: string, name = `rules-${++files}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The role config from these env variables, or the problems it has, each as `VARIABLE: problem`. */
export function roleConfig(env: Env): { rules: RoleRules; problems: string[] } {
  const read = new EnvReader(env);
  const rules = readRoleConfig(read);
  try {
    read.finish();
    return { rules, problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { rules, problems: error.problems.map((p) => `${p.variable}: ${p.problem}`) };
  }
}

export function problemsOf(env: Env): string[] {
  return roleConfig(env).problems;
}

/** A mapper from valid settings; a problem fails the test with the problems listed. */
export function mapperFor(env: Env, logger: Logger = silentLogger): RoleMapper {
  const { rules, problems } = roleConfig(env);
  if (problems.length > 0) throw new Error(`unexpected config problems:\n${problems.join('\n')}`);
  return createRoleMapper(rules, logger);
}

/** A mapper from a rules file with this YAML text. */
export function mapperFromYaml(text: string, env: Env = {}, logger: Logger = silentLogger): RoleMapper {
  return mapperFor({ ...env, ROLE_RULES_FILE: rulesFile(text) }, logger);
}

/** A bag as a protocol client would build it: names repeat, values as sent, then normalised. */
export function bag(pairs: ReadonlyArray<readonly [string, string]>): AttributeBag {
  return normaliseAttributes(pairs.map(([name, value]) => ({ name, value })));
}

const CLI = resolve('src/cli/roles.ts');
const TSX = import.meta.resolve('tsx');

/**
 * `npm run roles -- ...` as a user runs it (`tsx src/cli/roles.ts`), by default from a scratch directory so that a
 * developer's own .env cannot leak into the result, and with only the env the test gives.
 */
export function roles(
  args: readonly string[],
  { stdin = '', env = {}, cwd = mkdtempSync(join(tmpdir(), 'roles-cli-')) }: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin);
  return new Promise((done) => child.once('close', (status) => done({ status, stdout, stderr })));
}

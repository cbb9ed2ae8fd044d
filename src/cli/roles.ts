/**
 * `npm run roles -- explain [--rules FILE] [BAG_FILE|-]`: what the gateway's group mapping makes of an attribute
 * bag, and why. Exit status: 0 the login would be admitted, 1 it would be denied (REQUIRE_ROLE), 2 bad input or
 * configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import { normaliseAttributes, type AttributeBag } from '../aaa/attributes.js';
import { ConfigError, EnvReader, type Env } from '../config/env-reader.js';
import { createRoleMapper, readRoleConfig } from '../config/roles.js';
import { silentLogger } from '../log.js';
import { BagInputError, parseBagText } from '../roles/bag-input.js';
import type { RoleRules } from '../roles/rules.js';
import type { RoleDecision } from '../roles/types.js';

const USAGE = `usage: npm run roles -- explain [--rules FILE] [BAG_FILE|-]

Reads the group mapping as the gateway does (ROLE_RULES_FILE, ROLE_MAP and the other role settings from the
environment and ./.env), or the rules file given with --rules, and explains what it makes of the attribute bag
in BAG_FILE (standard input when absent or -): JSON {"Class": ["a", "b"], "priv-lvl": "15"} or name=value lines.
Exit status: 0 admitted, 1 denied by REQUIRE_ROLE, 2 bad input or configuration.`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface Io {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly stdin: () => string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** The CLI as a function of its inputs, so the exit status is a value and nothing but main() touches `process`. */
function runRolesCli(io: Io): number {
  try {
    const command = parseCommandLine(io.argv);
    if (command === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const { rulesFile, bagFile } = command;
    const rules = loadRules(rulesFile === undefined ? io.env : { ...io.env, ROLE_RULES_FILE: rulesFile });
    const bag = normaliseAttributes(parseBagText(readBag(bagFile, io.stdin)));
    const decision = createRoleMapper(rules, silentLogger).map(bag);
    io.stdout(report(rules, bag, decision));
    return decision.denied ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) io.stderr(`${error.message}\n\n${USAGE}\n`);
    else if (error instanceof ConfigError || error instanceof BagInputError) io.stderr(`roles explain: ${error.message}\n`);
    else throw error;
    return 2;
  }
}

function parseCommandLine(argv: readonly string[]): 'help' | { rulesFile: string | undefined; bagFile: string | undefined } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const [command, bagFile, ...extra] = parsed.positionals;
  if (parsed.values.help || command === 'help') return 'help';
  if (command !== 'explain') throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`);
  if (extra.length > 0) throw new UsageError(`one attribute bag at a time, got also ${extra.join(' ')}`);
  return { rulesFile: parsed.values.rules, bagFile: bagFile === '-' ? undefined : bagFile };
}

function loadRules(env: Env): RoleRules {
  const read = new EnvReader(env);
  const rules = readRoleConfig(read);
  read.finish();
  return rules;
}

function readBag(file: string | undefined, stdin: () => string): string {
  try {
    return file === undefined ? stdin() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new BagInputError(`cannot read ${file ?? 'standard input'} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, undefined, { cause: error });
  }
}

function report(rules: RoleRules, bag: AttributeBag, decision: RoleDecision): string {
  const attributes = bag.entries().flatMap(([name, values]) => values.map((value) => `  ${name} = ${JSON.stringify(value)}`));
  const yesNo = (value: boolean) => (value ? 'yes' : 'no');
  return [
    `rules:      ${rules.origin}`,
    'attributes:',
    ...(attributes.length > 0 ? attributes : ['  (none)']),
    'explanation:',
    ...(decision.explanation.length > 0 ? decision.explanation.map((line) => `  ${line}`) : ['  (nothing to explain: no rule reads these attributes)']),
    `groups:     ${decision.groups.length > 0 ? decision.groups.join(', ') : '(none)'}`,
    `superuser:  ${yesNo(decision.superuser)}`,
    `staff:      ${yesNo(decision.staff)}`,
    `denied:     ${yesNo(decision.denied)}`,
    '',
  ].join('\n');
}

function main(): void {
  // Like the gateway: ./.env fills in what the environment does not set.
  const dotenv = existsSync('.env') ? parseEnv(readFileSync('.env', 'utf8')) : {};
  const status = runRolesCli({
    argv: process.argv.slice(2),
    env: { ...dotenv, ...process.env },
    stdin: () => readFileSync(0, 'utf8'),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = status;
}

main();

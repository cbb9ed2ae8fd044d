import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bag, mapperFromYaml, problemsOf, roles, rulesFile } from './helpers.js';

/** The README's "Group mapping" section; every rules file and every `explain` run it shows is checked here. */
const DOC = 'README.md';
const readme = readFileSync(DOC, 'utf8');
const section = readme.slice(readme.indexOf('\n## Group mapping\n'), readme.indexOf('\n## ', readme.indexOf('\n## Group mapping\n') + 1));

const blocks = [...section.matchAll(/^```(\w*)\n(.*?)^```$/gms)].map((match) => ({ lang: match[1] ?? '', text: match[2] ?? '' }));
/** A YAML block starting with `# name.yaml` is a file the runs below use; the others are complete examples. */
const named = blocks.filter((block) => block.lang === 'yaml' && /^# \S+\.yaml\b/.test(block.text));
const complete = blocks.filter((block) => block.lang === 'yaml' && !named.includes(block));
const runs = blocks.filter((block) => block.text.startsWith('$ npm run roles -- '));

describe(`the examples in ${DOC}`, () => {
  it('finds them', () => {
    expect([complete.length, named.length, runs.length]).toEqual([1, 1, 3]);
  });

  it.each(complete.map((block) => [block.text]))('loads the rules file example without problems and maps by it', (text) => {
    expect(problemsOf({ ROLE_RULES_FILE: rulesFile(text) })).toEqual([]);
    const mapper = mapperFromYaml(text);
    expect(mapper.map(bag([['Class', 'netbox-ops'], ['Class', 'CACS:1'], ['priv-lvl', '15']]))).toMatchObject({
      groups: ['netbox-users', 'netbox-ops', 'netbox-admin'],
      superuser: true,
      denied: false,
    });
    expect(mapper.map(bag([['Class', 'netbox-admins'], ['priv-lvl', '0']]))).toMatchObject({ groups: [], denied: true });
  });

  it.each(runs.map((block) => [block.text.split('\n')[0]!, block.text]))('prints what it shows for %s', async (command, text) => {
    const cwd = mkdtempSync(join(tmpdir(), 'roles-docs-'));
    symlinkSync(resolve('examples'), join(cwd, 'examples'));
    for (const file of named) writeFileSync(join(cwd, /^# (\S+\.yaml)/.exec(file.text)![1]!), file.text);
    const result = await roles(command.slice('$ npm run roles -- '.length).split(' '), { cwd });
    const shown = text.slice(command.length + 1);
    expect(result.stdout + result.stderr).toBe(shown);
    expect(result.status).toBe(shown.includes('invalid configuration') ? 2 : shown.includes('denied:     yes') ? 1 : 0);
  });
});

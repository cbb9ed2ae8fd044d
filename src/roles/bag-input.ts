import type { RawAttribute } from '../aaa/attributes.js';

/** An attribute bag given to `explain` that cannot be read; `line` is 1-based, when the problem has one. */
export class BagInputError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`, options);
    this.name = 'BagInputError';
  }
}

/**
 * An attribute bag as text, in one of two forms:
 * - JSON, an object of name → value or list of values (`{"Class": ["a", "b"], "priv-lvl": 15}`); the `attributes`
 *   the gateway logs at debug level have this form;
 * - lines `name=value`, names repeatable, split at the first `=` or `*` as TACACS+ arguments are (`*` marks an
 *   optional argument); blank lines and lines starting with `#` are skipped.
 * Names and values are trimmed. The result still needs normaliseAttributes, as a protocol client's would.
 */
export function parseBagText(text: string): RawAttribute[] {
  return text.trimStart().startsWith('{') ? parseJson(text) : parseLines(text);
}

function parseJson(text: string): RawAttribute[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BagInputError(`not valid JSON: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BagInputError('JSON must be an object of attribute name → values');
  return Object.entries(parsed).flatMap(([name, value]) => {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    return values.map((item): RawAttribute => {
      if (typeof item !== 'string' && typeof item !== 'number') {
        throw new BagInputError(`attribute ${JSON.stringify(name)}: values must be strings or numbers, got ${JSON.stringify(item)}`);
      }
      return { name: name.trim(), value: String(item).trim() };
    });
  });
}

function parseLines(text: string): RawAttribute[] {
  return text.split(/\r?\n/).flatMap((line, index): RawAttribute[] => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return [];
    const separator = trimmed.search(/[=*]/);
    const name = trimmed.slice(0, Math.max(separator, 0)).trim();
    if (separator < 0 || name === '') throw new BagInputError(`expected name=value, got ${JSON.stringify(trimmed)}`, index + 1);
    return [{ name, value: trimmed.slice(separator + 1).trim(), optional: trimmed[separator] === '*' }];
  });
}

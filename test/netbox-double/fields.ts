// Django REST Framework's field validation, reduced to what the users API needs, with DRF's messages.

export type ErrorMap = Record<string, string[]>;

export class FieldErrors {
  readonly map: ErrorMap = {};

  add(field: string, message: string): void {
    (this.map[field] ??= []).push(message);
  }

  get empty(): boolean {
    return Object.keys(this.map).length === 0;
  }
}

export class Invalid {
  constructor(readonly message: string) {}
}

/** Python's name for a JSON value's type, as DRF puts it in messages. */
export function pythonType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'dict';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one field into `errors` the way DRF does: absent and not required → undefined; absent and required →
 * "This field is required."; null → "This field may not be null.".
 */
export function readField<T>(
  body: Record<string, unknown>,
  name: string,
  required: boolean,
  errors: FieldErrors,
  parse: (value: unknown) => T | Invalid,
): T | undefined {
  if (!(name in body)) {
    if (required) errors.add(name, 'This field is required.');
    return undefined;
  }
  const raw = body[name];
  if (raw === null) {
    errors.add(name, 'This field may not be null.');
    return undefined;
  }
  const parsed = parse(raw);
  if (parsed instanceof Invalid) {
    errors.add(name, parsed.message);
    return undefined;
  }
  return parsed;
}

/** CharField: numbers become strings, whitespace is trimmed (trim_whitespace defaults to True). */
export function text(options: { maxLength: number; allowBlank: boolean; minLength?: number }) {
  return (value: unknown): string | Invalid => {
    if (typeof value !== 'string' && typeof value !== 'number') return new Invalid('Not a valid string.');
    const result = String(value).trim();
    if (result === '' && !options.allowBlank) return new Invalid('This field may not be blank.');
    if (result.length > options.maxLength) {
      return new Invalid(`Ensure this field has no more than ${options.maxLength} characters.`);
    }
    if (options.minLength !== undefined && result !== '' && result.length < options.minLength) {
      return new Invalid(`Ensure this field has at least ${options.minLength} characters.`);
    }
    return result;
  };
}

const TRUE_VALUES = new Set(['true', 'True', 'TRUE', '1', 'yes', 'Yes', 'on', 'On', 't', 'T', 'y', 'Y']);
const FALSE_VALUES = new Set(['false', 'False', 'FALSE', '0', 'no', 'No', 'off', 'Off', 'f', 'F', 'n', 'N']);

export function bool(value: unknown): boolean | Invalid {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value === 'string' && TRUE_VALUES.has(value)) return true;
  if (typeof value === 'string' && FALSE_VALUES.has(value)) return false;
  return new Invalid('Must be a valid boolean.');
}

/** PrimaryKeyRelatedField(many=True): the first bad item decides the message. */
export function pkList(exists: (id: number) => boolean) {
  return (value: unknown): number[] | Invalid => {
    if (!Array.isArray(value)) return new Invalid(`Expected a list of items but got type "${pythonType(value)}".`);
    const ids: number[] = [];
    for (const item of value) {
      const id = typeof item === 'number' ? item : typeof item === 'string' && /^\d+$/.test(item) ? Number(item) : NaN;
      if (typeof item === 'boolean' || !Number.isInteger(id)) {
        return new Invalid(`Incorrect type. Expected pk value, received ${pythonType(item)}.`);
      }
      if (!exists(id)) return new Invalid(`Invalid pk "${id}" - object does not exist.`);
      if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  };
}

const EMAIL = /^[^\s@]+@(localhost|([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})$/i;

export function email(value: unknown): string | Invalid {
  const result = text({ maxLength: 254, allowBlank: true })(value);
  if (result instanceof Invalid || result === '') return result;
  if (!EMAIL.test(result)) return new Invalid('Enter a valid email address.');
  // BaseUserManager.normalize_email(), run by User.clean(): the domain part is lower-cased.
  const at = result.lastIndexOf('@');
  return result.slice(0, at) + result.slice(at).toLowerCase();
}

export function dateTime(value: unknown): Date | Invalid {
  const parsed = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(parsed.getTime())) {
    return new Invalid(
      'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
    );
  }
  return parsed;
}

export function stringList(value: unknown): string[] | Invalid {
  if (!Array.isArray(value)) return new Invalid(`Expected a list of items but got type "${pythonType(value)}".`);
  if (!value.every((item): item is string => typeof item === 'string')) return new Invalid('Not a valid string.');
  return value;
}

/**
 * What an AAA server said about a user, as protocol-neutral name → values. Names are the dictionary names
 * (`Class`, `Cisco-AVPair`, `Filter-Id`, TACACS+ argument names); lookups ignore case because vendors and
 * operators spell them inconsistently. Values keep their order; an attribute may repeat. Each value carries
 * whether the server marked it optional (TACACS+ `name*value`, Cisco `key*value`); RADIUS has no such mark.
 */
export class AttributeBag {
  readonly #values = new Map<string, { name: string; values: AttributeValue[] }>();

  add(name: string, value: string, options: { readonly optional?: boolean } = {}): void {
    const key = name.toLowerCase();
    const item = { value, optional: options.optional ?? false };
    const entry = this.#values.get(key);
    if (entry) entry.values.push(item);
    else this.#values.set(key, { name, values: [item] });
  }

  all(name: string): readonly string[] {
    return this.#values.get(name.toLowerCase())?.values.map((item) => item.value) ?? [];
  }

  first(name: string): string | undefined {
    return this.all(name)[0];
  }

  /** Names as first spelled, in the order they first arrived. */
  entries(): Array<[name: string, values: readonly string[]]> {
    return [...this.#values.values()].map((e) => [e.name, e.values.map((item) => item.value)]);
  }

  /** As `entries()`, with each value's optional mark. */
  detailed(): Array<[name: string, values: readonly AttributeValue[]]> {
    return [...this.#values.values()].map((e) => [e.name, [...e.values]]);
  }

  /** Values only: what logs show. */
  toJSON(): Record<string, readonly string[]> {
    return Object.fromEntries(this.entries());
  }
}

export interface AttributeValue {
  readonly value: string;
  readonly optional: boolean;
}

/** One attribute as a protocol client decoded it (or the explain CLI read it), before normalisation. */
export interface RawAttribute {
  readonly name: string;
  readonly value: string;
  /** TACACS+ `name*value`; absent means mandatory, which is also what every RADIUS attribute is. */
  readonly optional?: boolean;
}

/**
 * Attributes whose value is a list of role names. Role mapping reads each of their values as ONE role name, so
 * the lists are unpacked here, once, for every protocol and for the explain CLI alike.
 */
const ROLE_LISTS: ReadonlySet<string> = new Set(['shell:roles', 'shell:role', 'role']);

/** Cisco's attribute-value pair carrier: RADIUS vendor 9 type 1, and the TACACS+ argument of the same purpose. */
const CISCO_AV_PAIRS: ReadonlySet<string> = new Set(['cisco-avpair', 'cisco-av-pair']);

/**
 * The one attribute bag of an AAA reply, built from what the protocol delivered, in order. The rules:
 *
 * 1. Every attribute is added under its own name with its optional flag (default false). Its value is kept
 *    exactly as delivered, except for rule 2.
 * 2. Role lists: a value of `shell:roles`, `shell:role` or `role` (any case, whatever its source) is unpacked into
 *    one value per role name: surrounding whitespace and one pair of matching surrounding quotes (`"…"` or `'…'`)
 *    are removed, the rest is split at runs of whitespace and commas, quote characters at either end of each item
 *    are dropped, and empty items are dropped. The packed value is not kept; an empty list adds nothing. Each
 *    role name keeps the flag of the value it came from. Unquoted values are split too, so `role=a,b` reads as
 *    two roles, as it always has.
 * 3. Cisco AV pairs: a value of `Cisco-AVPair` (RADIUS) or `cisco-av-pair` (TACACS+) stays in the bag as it is
 *    (rule 1) and its inner pair is ALSO added: `key=value` or `key*value`, split at the first `=` or `*`, key
 *    and value trimmed, the key free of whitespace and quotes and not itself a Cisco AV pair name (otherwise
 *    there is no inner pair: one level, so a second normalisation cannot split again). The inner value
 *    goes under the key as in rule 1, role lists unpacked by rule 2 (`shell:roles="a b"` → `shell:roles` = `a`,
 *    `b`; `shell:priv-lvl=15` → `shell:priv-lvl` = `15`). It is optional when the outer attribute was or its
 *    separator is `*`.
 * 4. Inner pairs are added after all attributes of rules 1-2, and a value the bag already holds under that name
 *    is not added again. So an inner pair repeating what the reply also said directly does not count twice, and
 *    normalising the pairs of a normalised bag gives the same bag: `explain` can take a bag copied from a login's
 *    log line (whose JSON has the values only, so every value reads as mandatory there).
 */
export function normaliseAttributes(raw: Iterable<RawAttribute>): AttributeBag {
  const bag = new AttributeBag();
  const inner: RawAttribute[] = [];
  for (const attribute of raw) {
    const optional = attribute.optional ?? false;
    for (const value of valuesOf(attribute.name, attribute.value)) bag.add(attribute.name, value, { optional });
    if (CISCO_AV_PAIRS.has(attribute.name.toLowerCase())) {
      const pair = innerPair(attribute.value);
      if (pair && !CISCO_AV_PAIRS.has(pair.name.toLowerCase())) inner.push({ ...pair, optional: optional || pair.optional });
    }
  }
  for (const { name, value, optional } of inner) {
    for (const item of valuesOf(name, value)) if (!bag.all(name).includes(item)) bag.add(name, item, { optional });
  }
  return bag;
}

function valuesOf(name: string, value: string): string[] {
  return ROLE_LISTS.has(name.toLowerCase()) ? unpackList(value) : [value];
}

function unpackList(value: string): string[] {
  const trimmed = value.trim();
  const list = /^(["'])(.*)\1$/s.exec(trimmed)?.[2] ?? trimmed;
  return list
    .split(/[\s,]+/)
    .map((item) => item.replace(/^["']+|["']+$/g, ''))
    .filter((item) => item !== '');
}

function innerPair(value: string): Required<RawAttribute> | undefined {
  const match = /^\s*([^\s"'=*]+)\s*([=*])(.*)$/s.exec(value);
  if (!match) return undefined;
  return { name: match[1]!, value: match[3]!.trim(), optional: match[2] === '*' };
}

/**
 * What an AAA server said about a user, as protocol-neutral name → values. Names are the dictionary names
 * (`Class`, `Cisco-AVPair`, `Filter-Id`, TACACS+ argument names); lookups ignore case because vendors and
 * operators spell them inconsistently. Values keep their order; an attribute may repeat.
 */
export class AttributeBag {
  readonly #values = new Map<string, { name: string; values: string[] }>();

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const entry = this.#values.get(key);
    if (entry) entry.values.push(value);
    else this.#values.set(key, { name, values: [value] });
  }

  all(name: string): readonly string[] {
    return this.#values.get(name.toLowerCase())?.values ?? [];
  }

  first(name: string): string | undefined {
    return this.all(name)[0];
  }

  entries(): Array<[name: string, values: readonly string[]]> {
    return [...this.#values.values()].map((e) => [e.name, e.values]);
  }

  toJSON(): Record<string, readonly string[]> {
    return Object.fromEntries(this.entries());
  }
}

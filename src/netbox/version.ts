/**
 * A NetBox release as `/api/status/` reports it (`netbox-version`), and the behaviours of the REST API that differ
 * between the releases the gateway supports (see the version table in NetBox facts, ../shared/netbox/README.md).
 * Feature checks compare major.minor.patch only: a pre-release such as 4.7.0-beta1 already behaves like 4.7.
 */
export class NetboxVersion {
  private constructor(
    readonly major: number,
    readonly minor: number,
    readonly patch: number,
    /** As NetBox reported it, e.g. `4.7.0-beta1`. */
    readonly text: string,
  ) {}

  /** Undefined when `text` does not start with `<major>.<minor>`. */
  static parse(text: string): NetboxVersion | undefined {
    const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
    if (!match) return undefined;
    return new NetboxVersion(Number(match[1]), Number(match[2]), Number(match[3] ?? 0), text.trim());
  }

  compare(other: NetboxVersion): number {
    return this.major - other.major || this.minor - other.minor || this.patch - other.patch;
  }

  atLeast(major: number, minor: number, patch = 0): boolean {
    return this.compare(new NetboxVersion(major, minor, patch, '')) >= 0;
  }

  /** 4.0 up to any 4.7.x: the releases the gateway was written against. Others get the nearest behaviour. */
  get supported(): boolean {
    return this.atLeast(4, 0) && !this.atLeast(4, 8);
  }

  /** `is_staff` exists on users (and in the users API) up to 4.4; 4.5 removed it (netbox#16137). */
  get hasStaffFlag(): boolean {
    return !this.atLeast(4, 5);
  }

  /**
   * Where the object types are listed, relative to `/api/`: `extras/object-types/` in 4.0–4.3; 4.4 added
   * `core/object-types/` (keeping the old one as an alias) and 4.5 removed the old one (netbox#19898).
   */
  get objectTypesPath(): string {
    return this.atLeast(4, 4) ? 'core/object-types/' : 'extras/object-types/';
  }
}

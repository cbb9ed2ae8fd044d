/** NetBox's Group.name is a 150-character field. */
export const MAX_GROUP_NAME = 150;

export interface AllowPattern {
  readonly regex: RegExp;
  /** Literal text every name the pattern matches begins with; '' when the pattern does not pin one down. */
  readonly literalPrefix: string;
}

/** Which group names the mapping may hand to NetBox, whatever the AAA server sends. */
export interface GroupPolicy {
  /** Empty: every name. */
  readonly allow: readonly AllowPattern[];
  readonly denyPrefixes: readonly string[];
}

export function allowPattern(regex: RegExp): AllowPattern {
  return { regex, literalPrefix: anchoredLiteralPrefix(regex.source) };
}

/**
 * Why NetBox must not get this group name, or undefined when it may. A deny prefix is compared ignoring case,
 * since `NetBox-Admin-x` is as much a typo for an admin group as `netbox-admin-x`. It gives way only to an allow
 * pattern that itself starts with `^` and the prefix spelled out (`^netbox-admin-dcim$`): a broad `^netbox-`
 * must not re-open what the prefix closes.
 */
export function refusal(name: string, policy: GroupPolicy): string | undefined {
  if (name === '') return 'the name is empty';
  const length = [...name].length;
  if (length > MAX_GROUP_NAME) return `${length} characters, NetBox allows ${MAX_GROUP_NAME}`;
  // The remote-user group header and NetBox's admin pages would carry them; no directory means a group by them.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the name contains control characters';
  const allowedBy = policy.allow.filter((pattern) => pattern.regex.test(name));
  const lower = name.toLowerCase();
  for (const prefix of policy.denyPrefixes) {
    const denied = prefix.toLowerCase();
    if (lower.startsWith(denied) && !allowedBy.some((pattern) => pattern.literalPrefix.toLowerCase().startsWith(denied))) {
      return `denied prefix ${prefix}`;
    }
  }
  if (policy.allow.length > 0 && allowedBy.length === 0) return 'not in the allow-list';
  return undefined;
}

/**
 * `^netbox-admin-dcim$` → `netbox-admin-dcim`, `^netbox-(a|b)` → `netbox-`, `netbox-` (unanchored) → ''. Stops
 * short rather than guess: a character followed by `?`, `*` or `{` may be absent, escapes such as `\d` are classes,
 * and a top-level `|` lets another branch match anything.
 */
export function anchoredLiteralPrefix(source: string): string {
  if (!source.startsWith('^') || hasTopLevelAlternation(source)) return '';
  let prefix = '';
  let index = 1;
  while (index < source.length) {
    const char = source[index] ?? '';
    let literal: string;
    let next: number;
    if (char === '\\') {
      const escaped = source[index + 1];
      if (escaped === undefined || /[0-9A-Za-z]/.test(escaped)) break;
      literal = escaped;
      next = index + 2;
    } else {
      if ('.[](){}*+?|^$'.includes(char)) break;
      literal = char;
      next = index + 1;
    }
    const after = source[next];
    if (after !== undefined && '?*{'.includes(after)) break;
    prefix += literal;
    index = next;
  }
  return prefix;
}

function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const char = source[index];
    if (char === '\\') index++;
    else if (inClass) inClass = char !== ']';
    else if (char === '[') inClass = true;
    else if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '|' && depth === 0) return true;
  }
  return false;
}

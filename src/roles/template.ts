/** A group name in which `{0}` stands for the matched value and `{1}`, `{2}`.. for the regex's captures. */
export interface GroupTemplate {
  readonly text: string;
  /** Literal text and placeholder numbers, in order. */
  readonly parts: readonly (string | number)[];
}

const PLACEHOLDER = /\{(\d+)\}/g;

export function parseTemplate(text: string): GroupTemplate {
  const parts: (string | number)[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(Number(match[1]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return { text, parts };
}

/** The highest placeholder number, -1 when the template is a plain name. */
export function highestPlaceholder(template: GroupTemplate): number {
  return Math.max(-1, ...template.parts.filter((part): part is number => typeof part === 'number'));
}

/** `captures[0]` is the value, then the regex's groups; a group that did not take part fills in as ''. */
export function fillTemplate(template: GroupTemplate, captures: readonly string[]): string {
  return template.parts.map((part) => (typeof part === 'number' ? (captures[part] ?? '') : part)).join('');
}

/** Every name the template can yield, a placeholder standing for `placeholder` (a regex fragment). */
export function templatePattern(template: GroupTemplate, placeholder: string): RegExp {
  const body = template.parts.map((part) => (typeof part === 'number' ? `(?:${placeholder})` : escapeRegExp(part))).join('');
  return new RegExp(`^${body}$`);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import type { AttributeBag } from '../aaa/attributes.js';

/**
 * The values a rule sees for one attribute: trimmed, blanks dropped. Role lists and Cisco AV pairs are already
 * unpacked in the bag (normaliseAttributes), so each value here is one name.
 */
export function valuesOf(bag: AttributeBag, attribute: string): string[] {
  return bag
    .all(attribute)
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

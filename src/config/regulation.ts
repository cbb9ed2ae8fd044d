import { DAY, MINUTE, SECOND, type EnvReader } from './env-reader.js';
import type { RegulationConfig } from './types.js';

/** Authelia's model: so many failures within the find time ban the user name (or the address) for the ban time. */
export function readRegulationConfig(read: EnvReader): RegulationConfig {
  const maxRetries = read.integer('REGULATION_MAX_RETRIES', 5, { min: 0, max: 1000 });
  const maxRetriesPerAddress = read.integer('REGULATION_MAX_RETRIES_PER_IP', 20, { min: 0, max: 100_000 });
  // An explicit per-address limit that would silently do nothing is refused rather than ignored.
  if (maxRetries === 0 && maxRetriesPerAddress > 0 && read.raw('REGULATION_MAX_RETRIES_PER_IP') !== undefined) {
    read.problem('REGULATION_MAX_RETRIES_PER_IP', 'has no effect while REGULATION_MAX_RETRIES=0 turns login regulation off; unset it or set it to 0');
  }
  return {
    maxRetries,
    maxRetriesPerAddress,
    findTimeMs: read.duration('REGULATION_FIND_TIME', 10 * MINUTE, { bareUnit: 's', minMs: SECOND, maxMs: DAY }),
    banTimeMs: read.duration('REGULATION_BAN_TIME', 15 * MINUTE, { bareUnit: 's', minMs: SECOND, maxMs: 30 * DAY }),
  };
}

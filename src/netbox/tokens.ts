import { randomInt } from 'node:crypto';
import type { Logger } from '../log.js';
import { NetboxValidationError, type NetboxClient } from './client.js';
import { NetboxUnavailable } from './types.js';

/** A NetBox API token the gateway made for a user; `authorization` is the header a script sends with it. */
export interface MintedToken {
  readonly id: number;
  readonly version: 1 | 2;
  /** The whole secret part: shown to the user once, never logged. */
  readonly value: string;
  readonly authorization: string;
  readonly expires: Date;
  readonly writeEnabled: boolean;
}

export interface MintRequest {
  readonly userId: number;
  readonly expires: Date;
  readonly writeEnabled: boolean;
  readonly allowedIps: readonly string[];
  readonly description: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Mints NetBox tokens for other users with the service account, the way each release allows (NetBox facts,
 * section 4): v2 from 4.5 when NetBox has API_TOKEN_PEPPERS, else v1 (until 5.0 removes it). The gateway sends its
 * own secret where NetBox takes one (4.3–4.6) and prefers the one NetBox returns (4.6.1+; the only one on 4.7).
 */
export class TokenMinter {
  /** NetBox refused v2 for want of API_TOKEN_PEPPERS: v1 from then on, until the gateway restarts. */
  #noPeppers = false;

  constructor(
    private readonly client: NetboxClient,
    private readonly logger: Logger,
  ) {}

  async mint(request: MintRequest): Promise<MintedToken> {
    const version = await this.client.version();
    if (version.atLeast(4, 5) && !this.#noPeppers) {
      try {
        return await this.#create(request, 2, !version.atLeast(4, 7));
      } catch (error) {
        if (!(error instanceof NetboxValidationError && Object.values(error.errors).flat().some((message) => message.includes('API_TOKEN_PEPPERS')))) throw error;
        this.#noPeppers = true;
        this.logger.warn({ netboxVersion: version.text }, 'NetBox has no API_TOKEN_PEPPERS, so it cannot store v2 tokens: minting v1 tokens instead');
      }
    }
    // 4.7 makes `token` read-only for v2 only; a v1 key is still the caller's until 5.0.
    return this.#create(request, 1, true);
  }

  /** Also when it is gone already. */
  revoke(id: number): Promise<void> {
    return this.client.deleteToken(id);
  }

  async #create(request: MintRequest, version: 1 | 2, sendOwnSecret: boolean): Promise<MintedToken> {
    const own = sendOwnSecret ? secret() : undefined;
    const created = await this.client.createToken({ ...request, version, secret: own });
    const value = created.token ?? own;
    if (value === undefined) throw new NetboxUnavailable(`NetBox created token ${created.id} but returned no value for it`);
    if (version === 2 && created.key === undefined) throw new NetboxUnavailable(`NetBox created v2 token ${created.id} without a key`);
    return {
      id: created.id,
      version,
      value,
      authorization: version === 2 ? `Bearer nbt_${created.key}.${value}` : `Token ${value}`,
      expires: created.expires ?? request.expires,
      writeEnabled: created.writeEnabled,
    };
  }
}

/** 40 letters and digits from the OS's generator: what a v1 key must be, and as strong for v2. */
function secret(): string {
  let value = '';
  for (let i = 0; i < 40; i += 1) value += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return value;
}

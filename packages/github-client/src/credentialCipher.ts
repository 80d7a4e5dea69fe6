import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Format tag of sealed credentials; a new format gets a new tag, old ones stay readable. */
const FORMAT = 'ghc1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Why a sealed credential could not be opened (or a key ring not built). Never carries the plaintext. */
export class CredentialCipherError extends Error {
  override readonly name = 'CredentialCipherError';
}

/** One encryption key of the ring: its id travels in every value sealed with it. */
export interface CredentialKey {
  id: string;
  key: Buffer;
}

/**
 * AES-256-GCM for credentials at rest (OAuth user tokens, an App's private key, personal access tokens) with key
 * rotation: every sealed value names the key that sealed it (`ghc1.<keyId>.<iv>.<tag>.<ciphertext>`), the first key
 * of the ring seals, every key of the ring opens. Rotating is: put a new key first, keep the old ones until
 * {@link CredentialCipher.reseal} has moved every stored value to the new key, then drop them (ADR 0019).
 *
 * `context` (additional authenticated data) binds a value to where it is stored, e.g. the user it belongs to:
 * a sealed token copied onto another row does not open.
 */
export class CredentialCipher {
  readonly #keys: Map<string, Buffer>;
  readonly #primary: CredentialKey;

  constructor(keys: readonly CredentialKey[]) {
    const [primary] = keys;
    if (!primary) throw new CredentialCipherError('A credential key ring needs at least one key.');
    this.#keys = new Map();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id))
        throw new CredentialCipherError(`Key id ${JSON.stringify(id)} is not 1-32 of [A-Za-z0-9_-].`);
      if (key.length !== KEY_BYTES)
        throw new CredentialCipherError(`Key ${id} has ${key.length} bytes; AES-256 needs ${KEY_BYTES}.`);
      if (this.#keys.has(id)) throw new CredentialCipherError(`Key id ${id} appears twice.`);
      this.#keys.set(id, key);
    }
    this.#primary = primary;
  }

  /**
   * Parses `GITHUB_ENCRYPTION_KEYS`: `id:base64key[,id:base64key...]`, the sealing key first; each key is 32 random
   * bytes in base64 or base64url (`openssl rand -base64 32`).
   */
  static fromSpec(spec: string): CredentialCipher {
    const keys = spec
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const colon = part.indexOf(':');
        if (colon <= 0) throw new CredentialCipherError('Expected id:base64key entries separated by commas.');
        return { id: part.slice(0, colon), key: Buffer.from(part.slice(colon + 1), 'base64') };
      });
    return new CredentialCipher(keys);
  }

  /** The id of the key new values are sealed with. */
  get primaryKeyId(): string {
    return this.#primary.id;
  }

  /** Seals `plaintext` with the primary key, bound to `context`. */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#primary.key, iv);
    cipher.setAAD(Buffer.from(`${this.#primary.id}|${context}`, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      FORMAT,
      this.#primary.id,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ciphertext.toString('base64url'),
    ].join('.');
  }

  /**
   * Opens a value sealed by any key of the ring.
   * @throws {CredentialCipherError} on an unknown format or key, a wrong context or tampering
   */
  open(sealed: string, context = ''): string {
    const { keyId, iv, tag, ciphertext } = this.#split(sealed);
    const key = this.#keys.get(keyId);
    if (!key) throw new CredentialCipherError(`Sealed with key ${keyId}, which is not in the key ring.`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(`${keyId}|${context}`, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new CredentialCipherError(
        'The sealed credential does not authenticate (tampered, or another context).',
      );
    }
  }

  /** True when `sealed` was sealed with another key than the primary one (a rotation has not reached it yet). */
  needsReseal(sealed: string): boolean {
    return this.#split(sealed).keyId !== this.#primary.id;
  }

  /** The same plaintext sealed with the primary key (unchanged when it already is). */
  reseal(sealed: string, context = ''): string {
    return this.needsReseal(sealed) ? this.seal(this.open(sealed, context), context) : sealed;
  }

  #split(sealed: string): { keyId: string; iv: Buffer; tag: Buffer; ciphertext: Buffer } {
    const [format, keyId, iv, tag, ciphertext, ...rest] = sealed.split('.');
    if (format !== FORMAT || !keyId || !iv || !tag || ciphertext === undefined || rest.length > 0)
      throw new CredentialCipherError(
        `Not a sealed credential (expected ${FORMAT}.<key>.<iv>.<tag>.<data>).`,
      );
    return {
      keyId,
      iv: Buffer.from(iv, 'base64url'),
      tag: Buffer.from(tag, 'base64url'),
      ciphertext: Buffer.from(ciphertext, 'base64url'),
    };
  }
}

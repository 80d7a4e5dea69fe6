import type { AnyEventContract, EnvelopeOf, ParseResult } from './defineEvent.js';
import { EventError, EventErrorCode } from './errors.js';

/** The registry key of an event version: `${type}.v${version}`, e.g. `UserRegistered.v1`. */
export function eventKey<TType extends string, TVersion extends number>(
  type: TType,
  version: TVersion,
): `${TType}.v${TVersion}` {
  return `${type}.v${version}`;
}

/** Contracts keyed by `${type}.v${version}`; the shape of {@link eventContracts}. */
export type ContractRegistry<C extends AnyEventContract = AnyEventContract> = {
  readonly [K in C as K['key']]: K;
};

/** Any registry, whatever contracts it holds. */
export type AnyContractRegistry = Readonly<Record<string, AnyEventContract>>;

/** The union of contracts a registry holds. */
export type ContractOf<R extends AnyContractRegistry> = R[keyof R];

/** The union of validated envelopes a registry can produce. */
export type RegistryEnvelope<R extends AnyContractRegistry> = EnvelopeOf<ContractOf<R>>;

/**
 * Builds a registry from contracts, refusing duplicates: two modules declaring `UserRegistered.v1` would
 * otherwise silently shadow each other and consumers would validate against whichever loaded last.
 * @throws {EventError} `EVENT_CONTRACT_DUPLICATE`
 */
export function createContractRegistry<const C extends readonly AnyEventContract[]>(
  contracts: C,
): ContractRegistry<C[number]> {
  const registry: Record<string, AnyEventContract> = {};
  for (const contract of contracts) {
    if (Object.hasOwn(registry, contract.key)) {
      throw new EventError(
        EventErrorCode.CONTRACT_DUPLICATE,
        `Event contract ${contract.key} is registered twice.`,
        {
          eventType: contract.type,
          eventVersion: contract.version,
        },
      );
    }
    registry[contract.key] = contract;
  }
  return Object.freeze(registry) as ContractRegistry<C[number]>;
}

/** The contract for a type and version, or undefined. */
export function findContract<R extends AnyContractRegistry>(
  registry: R,
  type: string,
  version: number,
): ContractOf<R> | undefined {
  const key = eventKey(type, version);
  // hasOwn: a type named like an Object.prototype member must not resolve to it.
  return Object.hasOwn(registry, key) ? (registry[key] as ContractOf<R>) : undefined;
}

/** Every topic the registry's events are published to, sorted, without duplicates. */
export function topicsOf(registry: AnyContractRegistry): string[] {
  return [...new Set(Object.values(registry).map((contract) => contract.topic))].sort();
}

/**
 * Validates an untrusted value against whichever contract its `type` and `version` name. Returns the error
 * instead of throwing, because a consumer treats both outcomes as normal control flow (the error goes to
 * the dead-letter topic).
 */
export function safeParseEnvelope<R extends AnyContractRegistry>(
  value: unknown,
  registry: R,
): ParseResult<RegistryEnvelope<R>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const arrived = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return {
      ok: false,
      error: new EventError(
        EventErrorCode.VALIDATION_FAILED,
        `expected an event envelope object, received ${arrived}`,
        {
          issues: [{ path: '', message: `expected object, received ${arrived}` }],
        },
      ),
    };
  }
  const { type, version } = value as { type?: unknown; version?: unknown };
  if (typeof type !== 'string' || typeof version !== 'number') {
    return {
      ok: false,
      error: new EventError(
        EventErrorCode.VALIDATION_FAILED,
        `expected an envelope with a string "type" and a number "version", received type=${JSON.stringify(type) ?? 'undefined'} version=${JSON.stringify(version) ?? 'undefined'}`,
        {
          issues: [
            { path: typeof type === 'string' ? 'version' : 'type', message: 'missing or of the wrong type' },
          ],
        },
      ),
    };
  }
  const contract = findContract(registry, type, version);
  if (!contract) {
    return {
      ok: false,
      error: new EventError(
        EventErrorCode.CONTRACT_UNKNOWN,
        `no contract registered for ${eventKey(type, version)}`,
        {
          eventType: type,
          eventVersion: version,
        },
      ),
    };
  }
  return contract.safeParse(value) as ParseResult<RegistryEnvelope<R>>;
}

/**
 * Like {@link safeParseEnvelope} but throws.
 * @throws {EventError} `EVENT_CONTRACT_UNKNOWN` or `EVENT_VALIDATION_FAILED`
 */
export function parseEnvelope<R extends AnyContractRegistry>(
  value: unknown,
  registry: R,
): RegistryEnvelope<R> {
  const result = safeParseEnvelope(value, registry);
  if (!result.ok) throw result.error;
  return result.envelope;
}

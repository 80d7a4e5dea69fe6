import { codedError, ErrorCode } from './errors.js';

/** Items per page when a connection declares nothing else. */
export const PAGE_SIZE_DEFAULT = 50;
/** Most items per page when a connection declares nothing else. */
export const PAGE_SIZE_MAX = 100;

/** How many items a connection returns per page: `default` when the client asks for no size, at most `max`. */
export interface PageSize {
  readonly default: number;
  readonly max: number;
}

/**
 * A connection's page size: the kit's default and maximum, either tightened by `overrides`. The default never
 * exceeds the maximum (`pageSize({ max: 20 })` pages by 20).
 */
export function pageSize(overrides: Partial<PageSize> = {}): PageSize {
  const max = overrides.max ?? PAGE_SIZE_MAX;
  const size = { default: overrides.default ?? Math.min(PAGE_SIZE_DEFAULT, max), max };
  if (
    !Number.isInteger(size.max) ||
    size.max < 1 ||
    !Number.isInteger(size.default) ||
    size.default < 1 ||
    size.default > size.max
  ) {
    throw new RangeError(`page size needs 1 <= default <= max, got default ${size.default}, max ${size.max}`);
  }
  return size;
}

/** Relay paging arguments as GraphQL resolvers receive them. */
export interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

/** The number of items to load for `args` (`first`, else `last`, else the default), or BAD_USER_INPUT outside 1..max. */
export function resolvePageSize(args: Pick<PageArgs, 'first' | 'last'>, size: PageSize): number {
  const field = args.first != null ? 'first' : args.last != null ? 'last' : null;
  if (field === null) return size.default;
  const requested = args[field]!;
  if (!Number.isInteger(requested) || requested < 1 || requested > size.max) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} must be between 1 and ${size.max}.`, {
      field,
      expected: `1-${size.max}`,
      received: String(requested),
    });
  }
  return requested;
}

/** Refuses `last`/`before` on connections that page forward only. */
export function assertForwardOnly(args: PageArgs): void {
  if (args.last != null || args.before != null) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'This list pages forward only.', {
      field: args.last != null ? 'last' : 'before',
      expected: 'first and after',
    });
  }
}

/** One value inside a cursor. */
export type CursorPart = string | number;

/** Turns a keyset position into an opaque cursor and back. */
export interface CursorCodec<T> {
  encode(position: T): string;
  /** The position inside `cursor`, or BAD_USER_INPUT naming `field` when it was not made by this codec. */
  decode(cursor: string, field?: string): T;
}

/** What a codec stores: the keyset columns of one list. */
export interface CursorSpec<T> {
  /** Names the list; a cursor of another list is refused. */
  kind: string;
  /** Told to the client when a cursor is refused, e.g. "a cursor from taskLogs". */
  expected: string;
  toParts(position: T): readonly CursorPart[];
  /** The position from decoded parts, or null when they are not a valid position of this list. */
  fromParts(parts: readonly CursorPart[]): T | null;
}

/** Version of the cursor layout; bumping it refuses cursors clients kept from before. */
export const CURSOR_VERSION = 1;
/** Longer cursors are refused before decoding: no list's keyset needs more. */
const CURSOR_MAX_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The one cursor codec: `[version, kind, ...parts]` as base64url JSON. Opaque to clients (they only pass it
 * back), versioned, and validated part by part so a tampered or foreign cursor is a clear BAD_USER_INPUT
 * instead of a database error or a wrong page.
 */
export function createCursorCodec<T>(spec: CursorSpec<T>): CursorCodec<T> {
  return {
    encode: (position) =>
      Buffer.from(JSON.stringify([CURSOR_VERSION, spec.kind, ...spec.toParts(position)]), 'utf8').toString(
        'base64url',
      ),
    decode: (cursor, field = 'after') => {
      const position =
        cursor.length <= CURSOR_MAX_LENGTH && BASE64URL.test(cursor) ? readCursor(spec, cursor) : null;
      if (position === null)
        throw codedError(ErrorCode.BAD_USER_INPUT, 'Cursor is not valid.', {
          field,
          expected: spec.expected,
        });
      return position;
    },
  };
}

function readCursor<T>(spec: CursorSpec<T>, cursor: string): T | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed[0] !== CURSOR_VERSION || parsed[1] !== spec.kind) return null;
  const parts = parsed.slice(2) as unknown[];
  if (
    !parts.every(
      (part): part is CursorPart =>
        typeof part === 'string' || (typeof part === 'number' && Number.isFinite(part)),
    )
  )
    return null;
  return spec.fromParts(parts);
}

/** Readers for `fromParts`: each returns the value, or null when the part is not one. */
export const cursorPart = {
  /** An integer within `min..max`. */
  integer(part: CursorPart | undefined, min: number, max: number): number | null {
    return typeof part === 'number' && Number.isSafeInteger(part) && part >= min && part <= max ? part : null;
  },
  /** An instant written by `encode` as an ISO-8601 string. */
  instant(part: CursorPart | undefined): Date | null {
    if (typeof part !== 'string') return null;
    const date = new Date(part);
    return Number.isNaN(date.getTime()) || date.toISOString() !== part ? null : date;
  },
  /** A UUID (row ids). */
  uuid(part: CursorPart | undefined): string | null {
    return typeof part === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)
      ? part.toLowerCase()
      : null;
  },
  /** One of `values`. */
  oneOf<V extends string>(part: CursorPart | undefined, values: readonly V[]): V | null {
    return typeof part === 'string' && (values as readonly string[]).includes(part) ? (part as V) : null;
  },
};

/** A keyset position on an instant with a UUID tie-breaker: the usual order of a list (creation or activity time). */
export interface InstantIdPosition {
  at: Date;
  id: string;
}

/** The cursor codec of lists ordered by an instant, then by id. */
export function createInstantIdCursorCodec(
  kind: string,
  expected = 'a cursor from this connection',
): CursorCodec<InstantIdPosition> {
  return createCursorCodec<InstantIdPosition>({
    kind,
    expected,
    toParts: (position) => [position.at.toISOString(), position.id],
    fromParts: ([at, id, ...rest]) => {
      const instant = cursorPart.instant(at);
      const uuid = cursorPart.uuid(id);
      return instant && uuid && rest.length === 0 ? { at: instant, id: uuid } : null;
    },
  });
}

/** The Prisma `where` part and `orderBy` of one page of a list keyed by `createdAt`, then `id`. */
export interface InstantIdKeyset {
  /** Spread into the query's `where`: strictly beyond the cursor (nothing without one). */
  where: {
    OR?: [
      { createdAt: { lt: Date } | { gt: Date } },
      { createdAt: Date; id: { lt: string } | { gt: string } },
    ];
  };
  orderBy: [{ createdAt: 'asc' | 'desc' }, { id: 'asc' | 'desc' }];
}

/**
 * One page of a list ordered by `createdAt`, then `id`, newest first (oldest first when `inverted`, for paging
 * backwards, as `resolveCursorConnection` asks): the `after` or `before` cursor decoded with `codec` (a malformed
 * one is BAD_USER_INPUT) and turned into the keyset condition and order of a Prisma `findMany`.
 */
export function instantIdKeyset(
  codec: CursorCodec<InstantIdPosition>,
  options: { after?: string | undefined; before?: string | undefined; inverted: boolean },
): InstantIdKeyset {
  const cursor = options.after
    ? codec.decode(options.after, 'after')
    : options.before
      ? codec.decode(options.before, 'before')
      : null;
  const direction = options.inverted ? 'asc' : 'desc';
  const beyond = <T>(value: T): { lt: T } | { gt: T } => (options.after ? { lt: value } : { gt: value });
  return {
    where: cursor
      ? { OR: [{ createdAt: beyond(cursor.at) }, { createdAt: cursor.at, id: beyond(cursor.id) }] }
      : {},
    orderBy: [{ createdAt: direction }, { id: direction }],
  };
}

/** A Relay connection's page: its edges and page info. */
export interface ConnectionPage<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/**
 * A forward keyset page as a Relay connection: one edge per item with its cursor; there is a previous page when
 * this one started after a cursor.
 */
export function connectionPage<T>(
  items: readonly T[],
  options: { hasNextPage: boolean; after?: string | null | undefined; cursor: (item: T) => string },
): ConnectionPage<T> {
  const edges = items.map((node) => ({ cursor: options.cursor(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: options.hasNextPage,
      hasPreviousPage: Boolean(options.after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

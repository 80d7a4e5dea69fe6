/**
 * Builds the smallest value a JSON schema (OpenAPI 3.0 flavour) accepts: every required property filled with a
 * plain value of its type and format (nullable ones null unless `patch` gives them), the first of an enum or of
 * the alternatives; `patch`'s values are laid in place, objects merged key by key. The fake GitHub
 * answers with such a sample of the operation's response schema, overlaid with the facts the test cares about,
 * so its responses have every field GitHub's description requires.
 */
type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  minimum?: number;
};

const SAMPLE_TIME = '2026-01-01T00:00:00Z';

export function sampleOf(root: unknown, schema: unknown, patch?: unknown, depth = 0): unknown {
  const s = resolve(root, schema as Schema);
  if (depth > 12) return patch ?? null;
  if (Array.isArray(patch))
    return s.type === 'array' && s.items
      ? patch.map((item) => sampleOf(root, s.items, item, depth + 1))
      : patch;
  if (patch !== undefined && !isPlainObject(patch)) return patch;
  if (s.allOf) {
    return s.allOf
      .map((part) => sampleOf(root, part, patch, depth + 1))
      .reduce((merged, part) => deepMerge(merged, part), {});
  }
  const alternatives = s.oneOf ?? s.anyOf ?? [];
  if (alternatives.length > 0) {
    // With a patch to lay over, the first alternative with content; without, the first as described.
    const nonNull = alternatives.find((a) => {
      const r = resolve(root, a);
      return r.type !== 'null' && !r.enum?.includes(null);
    });
    return sampleOf(root, (patch !== undefined ? nonNull : undefined) ?? alternatives[0], patch, depth + 1);
  }
  if (s.enum) return s.enum.find((value) => value !== null) ?? s.enum[0];
  switch (s.type) {
    case 'object':
    case undefined: {
      const out: Record<string, unknown> = {};
      const given = (patch ?? {}) as Record<string, unknown>;
      for (const key of new Set([...(s.required ?? []), ...Object.keys(given)])) {
        const property = s.properties?.[key];
        if (!property) {
          if (given[key] !== undefined) out[key] = given[key];
          continue;
        }
        const resolved = resolve(root, property);
        // Nullable facts (merged_at, closed_at...) stay null unless the test gives them.
        out[key] =
          given[key] === undefined && resolved.nullable
            ? null
            : sampleOf(root, property, given[key], depth + 1);
      }
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return Math.max(1, s.minimum ?? 1);
    case 'boolean':
      return false;
    case 'string':
      switch (s.format) {
        case 'date-time':
          return SAMPLE_TIME;
        case 'uri':
        case 'url':
          return 'https://github.example/sample';
        case 'email':
          return 'sample@github.example';
        case 'uri-template':
          return 'https://github.example/sample{/id}';
        case 'date':
          return '2026-01-01';
        default:
          return 'sample';
      }
    default:
      return null;
  }
}

function resolve(root: unknown, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 20; hops += 1) {
    let node: unknown = root;
    for (const segment of current.$ref.replace(/^#\//, '').split('/')) {
      node = (node as Record<string, unknown>)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    current = node as Schema;
  }
  return current;
}

/** `a` and `b` merged key by key (objects recursively; otherwise `b` wins). */
function deepMerge(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a) || !isPlainObject(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = key in a ? deepMerge(a[key], value) : value;
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

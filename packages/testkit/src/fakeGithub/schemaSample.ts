/**
 * Builds the smallest value a JSON schema (OpenAPI 3.0 flavour) accepts: every required property filled with a
 * plain value of its type and format (nullable ones too), the first of an enum, the first non-null alternative. The fake GitHub
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

export function sampleOf(root: unknown, schema: unknown, depth = 0): unknown {
  const s = resolve(root, schema as Schema);
  if (depth > 12) return null;
  if (s.allOf) {
    return Object.assign({}, ...s.allOf.map((part) => sampleOf(root, part, depth + 1) as object));
  }
  // The first alternative that is not null: a sample with content, which a test's patch can refine.
  const alternatives = s.oneOf ?? s.anyOf ?? [];
  const alternative =
    alternatives.find((a) => resolve(root, a).type !== 'null' && !resolve(root, a).enum?.includes(null)) ??
    alternatives[0];
  if (alternative) return sampleOf(root, alternative, depth + 1);
  if (s.enum) return s.enum.find((value) => value !== null) ?? s.enum[0];
  switch (s.type) {
    case 'object':
    case undefined: {
      if (!s.properties) return {};
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) {
        const property = s.properties[key];
        if (!property) continue;
        out[key] = sampleOf(root, property, depth + 1);
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

/** `base` with `overlay`'s values in place, objects merged key by key, arrays and scalars replaced. */
export function overlay<T>(base: T, patch: unknown): T {
  if (patch === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = overlay(out[key], value);
  return out as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

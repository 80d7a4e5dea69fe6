import { Kind, type SelectionSetNode } from 'graphql';

/** The response keys a selection set asks for, with the projection of each key's own selection. */
export type Projection = ReadonlyArray<{ key: string; sub: Projection | undefined }>;

/**
 * Compiles a selection set into a projection, or returns null when it needs the gateway's full result shaping:
 * directives (`@skip`/`@include`), fragments (their type conditions depend on runtime types), or the same key
 * selected twice (selections to merge). Subscriptions usually select plain fields, which this covers.
 */
export function compileProjection(selectionSet: SelectionSetNode): Projection | null {
  const projection: Array<{ key: string; sub: Projection | undefined }> = [];
  const keys = new Set<string>();
  for (const selection of selectionSet.selections) {
    if (selection.kind !== Kind.FIELD || (selection.directives?.length ?? 0) > 0) return null;
    const key = selection.alias?.value ?? selection.name.value;
    if (keys.has(key)) return null;
    keys.add(key);
    let sub: Projection | undefined;
    if (selection.selectionSet) {
      const compiled = compileProjection(selection.selectionSet);
      if (!compiled) return null;
      sub = compiled;
    }
    projection.push({ key, sub });
  }
  return projection;
}

/**
 * Keeps exactly the keys of `projection` from a subgraph's result (dropping anything the router added for
 * itself, such as the resume cursor), through objects and lists; absent values become null.
 */
export function project(value: unknown, projection: Projection): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((item) => project(item, projection));
  if (typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const { key, sub } of projection) {
    const field = source[key];
    result[key] = sub ? project(field, sub) : field === undefined ? null : field;
  }
  return result;
}

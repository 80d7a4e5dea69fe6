import { describe, expect, it } from 'vitest';
import { resumable, resumableDirective, resumableSubgraphOptions } from '../src/resumableDirective.js';

describe('@resumable for subgraph schemas', () => {
  it('keeps the specified directives (@skip, @include, @deprecated) beside @resumable in the schema it defines', () => {
    // A schema given `directives` has only those: without the specified ones, @include fails validation.
    for (const name of ['skip', 'include', 'deprecated', 'resumable'])
      expect(resumableSubgraphOptions.directives.map((directive) => directive.name)).toContain(name);
  });

  it('links and composes the directive, and declares it on fields with both arguments', () => {
    expect(resumableSubgraphOptions.composeDirectives).toEqual(['@resumable']);
    expect(resumableSubgraphOptions.extensions.directives[0]?.args.import).toEqual(['@resumable']);
    expect(resumableDirective.args.map((arg) => `${arg.name}: ${String(arg.type)}`)).toEqual([
      'argument: String!',
      'cursorField: String!',
    ]);
    expect(resumable('after', 'cursor')).toEqual({ resumable: { argument: 'after', cursorField: 'cursor' } });
  });
});

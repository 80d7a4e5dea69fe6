import { codedError, ErrorCode } from '@cap/runtime';
import {
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLError,
  type OperationDefinitionNode,
} from 'graphql';
import { fieldArguments, givenSlicingArguments } from './cost.js';
import { fragmentsOf, reachableFragments } from './documentWalk.js';
import type { SupergraphPolicy } from './supergraphPolicy.js';

/**
 * Enforces `@listSize(requireOneSlicingArgument: true)`: every selection of such a field (with slicing
 * arguments declared) gives exactly one of them, as a literal or through a coerced variable (defaults applied);
 * otherwise the cost of the list is unbounded by the request. Returns one coded error per offending selection.
 * Reads the operation and the fragments it reaches once each, as written (no expansion).
 */
export function checkSlicingArguments(options: {
  policy: SupergraphPolicy;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** The operation's coerced variables. */
  variables: Record<string, unknown>;
}): GraphQLError[] {
  const { policy, document, operation, variables } = options;
  if (
    ![...policy.listSizes.values()].some(
      (declared) => declared.requireOneSlicingArgument && declared.slicingArguments.length > 0,
    )
  )
    return [];
  const fragments = fragmentsOf(document);
  const reached = reachableFragments(operation, fragments);
  const errors: GraphQLError[] = [];
  const typeInfo = new TypeInfo(policy.apiSchema);
  const definitions = [operation, ...[...reached].flatMap((name) => fragments.get(name) ?? [])];
  for (const definition of definitions) {
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const parent = typeInfo.getParentType();
          const field = typeInfo.getFieldDef();
          if (!parent || !field) return;
          const coordinate = `${parent.name}.${field.name}`;
          const declared = policy.listSizes.get(coordinate);
          if (!declared || !declared.requireOneSlicingArgument || declared.slicingArguments.length === 0)
            return;
          const given = givenSlicingArguments(declared, fieldArguments(field, node, variables));
          if (given.length === 1) return;
          errors.push(
            codedError(
              ErrorCode.SLICING_ARGUMENT_REQUIRED,
              `Field "${coordinate}" needs exactly one of the slicing arguments ${declared.slicingArguments.map((name) => `"${name}"`).join(', ')}; ${given.length === 0 ? 'none was' : `${given.length} were`} given.`,
              { field: coordinate, slicingArguments: declared.slicingArguments, given },
            ),
          );
        },
      }),
    );
  }
  return errors;
}

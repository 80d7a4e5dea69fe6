import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { codedError, ErrorCode } from '@cap/runtime';
import { fragmentsOf } from './documentWalk.js';
import { checkOperationLimits, type OperationLimits } from './limits.js';
import type { SupergraphPolicy } from './supergraphPolicy.js';

/** A parsed, validated, measured operation, cached by its text (variables and caller are applied per request). */
export interface Analysis {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  introspection: boolean;
}

/**
 * What the router can know of an operation from its text alone, cheapest refusal first: size, tokens (parsing
 * stops there), the operation to run, the structural limits (linear in the document, before validation, whose
 * cost grows with what the limits bound), then validation against the public API schema.
 */
export function analyzeOperation(
  supergraph: SupergraphPolicy,
  limits: OperationLimits,
  query: string,
  operationName: string | undefined,
): Analysis | GraphQLFormattedError[] {
  const bytes = Buffer.byteLength(query);
  if (bytes > limits.maxDocumentBytes) {
    return [limitError('documentBytes', limits.maxDocumentBytes, bytes)];
  }
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: limits.maxTokens });
  } catch (error) {
    if (error instanceof GraphQLError && /tokens/.test(error.message))
      return [limitError('tokens', limits.maxTokens, limits.maxTokens + 1)];
    const message = error instanceof GraphQLError ? error.message : 'Syntax error.';
    return [{ message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }];
  }
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    return [
      {
        message: operationName
          ? `Unknown operation named "${operationName}".`
          : 'Must provide an operation name when the document holds several.',
        extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
      },
    ];
  }
  const violation = checkOperationLimits(document, operation, limits);
  if (violation) return [limitError(violation.limit, violation.max, violation.actual)];
  const errors = validate(supergraph.apiSchema, document);
  if (errors.length > 0)
    return errors.map((error) => ({
      ...error.toJSON(),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    }));
  return { document, operation, introspection: usesIntrospection(operation, document) };
}

function limitError(limit: string, max: number, actual: number): GraphQLFormattedError {
  return codedError(
    ErrorCode.OPERATION_LIMIT_EXCEEDED,
    `The operation exceeds the ${limit} limit (${actual} > ${max}).`,
    {
      limit,
      max,
      actual,
    },
  ).toJSON();
}

/** Whether an operation selects `__schema` or `__type`, reading each fragment it reaches once. */
function usesIntrospection(operation: OperationDefinitionNode, document: DocumentNode): boolean {
  const fragments = fragmentsOf(document);
  const seen = new Set<string>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__schema' || selection.name.value === '__type') return true;
        if (selection.selectionSet) pending.push(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) pending.push(fragment.selectionSet);
      }
    }
  }
  return false;
}

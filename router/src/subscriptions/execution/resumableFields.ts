import {
  getNamedType,
  isObjectType,
  Kind,
  parseType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { ResumableField } from '../../policy/supergraphPolicy.js';

/** Variable through which the router sets the resume argument upstream (the client's own value initially). */
export const RESUME_VARIABLE = '_capResumeFrom';
/** Alias under which the router selects the cursor field of each event (removed before the client sees it). */
export const RESUME_CURSOR_ALIAS = '_capResumeCursor';

/** Where a prepared subscription reads its cursor and how it resumes. */
export interface ResumePoint {
  /** Root field name, e.g. `messagePosted`. */
  field: string;
  /** The root field's response key (its alias, if any). */
  responseName: string;
}

/**
 * Rewrites a subscription so the router can resume it: the root field's resume argument is passed through
 * {@link RESUME_VARIABLE} (initialised with whatever the client passed: a literal, a variable, or nothing), and
 * the cursor field is selected as {@link RESUME_CURSOR_ALIAS}. `resumable` are the supergraph's `@resumable` fields
 * (`resumableFieldsOf`). Returns null when the operation's root field is not resumable, or the schema lacks its
 * argument or cursor field: then it is subscribed again as it is (it starts with the current state, e.g.
 * `taskUpdated`, `presence`, or carries only live signals, e.g. `typing`).
 */
export function withResumption(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  schema: GraphQLSchema,
  variables: Record<string, unknown>,
  resumable: ReadonlyMap<string, ResumableField>,
): { document: DocumentNode; variables: Record<string, unknown>; resume: ResumePoint } | null {
  if (operation.operation !== 'subscription' || operation.selectionSet.selections.length !== 1) return null;
  const root = operation.selectionSet.selections[0];
  // A root field behind a fragment or a @skip/@include is subscribed again as it is.
  if (root?.kind !== Kind.FIELD || (root.directives?.length ?? 0) > 0 || !root.selectionSet) return null;
  const entry = resumable.get(root.name.value);
  const fieldDef = schema.getSubscriptionType()?.getFields()[root.name.value];
  const argDef = fieldDef?.args.find((arg) => arg.name === entry?.argument);
  const eventType = fieldDef ? getNamedType(fieldDef.type) : undefined;
  if (!entry || !argDef || !isObjectType(eventType) || !eventType.getFields()[entry.cursorField]) return null;
  if (operation.variableDefinitions?.some((definition) => definition.variable.name.value === RESUME_VARIABLE))
    return null;

  const given = root.arguments?.find((argument) => argument.name.value === entry.argument);
  let initial: unknown;
  if (given?.value.kind === Kind.VARIABLE) {
    const name = given.value.name.value;
    const definition = operation.variableDefinitions?.find(
      (candidate) => candidate.variable.name.value === name,
    );
    initial =
      variables[name] !== undefined
        ? variables[name]
        : definition?.defaultValue
          ? valueFromASTUntyped(definition.defaultValue)
          : undefined;
  } else if (given) {
    initial = valueFromASTUntyped(given.value);
  }

  const variable = { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: RESUME_VARIABLE } } as const;
  const rewrittenRoot: FieldNode = {
    ...root,
    arguments: [
      ...(root.arguments ?? []).filter((argument) => argument.name.value !== entry.argument),
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: entry.argument }, value: variable },
    ],
    selectionSet: {
      ...root.selectionSet,
      selections: [
        ...root.selectionSet.selections,
        {
          kind: Kind.FIELD,
          alias: { kind: Kind.NAME, value: RESUME_CURSOR_ALIAS },
          name: { kind: Kind.NAME, value: entry.cursorField },
        },
      ],
    },
  };
  const rewrittenOperation: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []),
      { kind: Kind.VARIABLE_DEFINITION, variable, type: parseType(String(argDef.type)) },
    ],
    selectionSet: { ...operation.selectionSet, selections: [rewrittenRoot] },
  };
  return {
    document: {
      ...document,
      definitions: document.definitions.map((definition) =>
        definition === operation ? rewrittenOperation : definition,
      ),
    },
    variables: initial === undefined ? { ...variables } : { ...variables, [RESUME_VARIABLE]: initial },
    resume: { field: root.name.value, responseName: root.alias?.value ?? root.name.value },
  };
}

/** The cursor of one upstream event of a resumable subscription, or undefined when it has none. */
export function cursorOf(data: unknown, resume: ResumePoint): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  const event = (data as Record<string, unknown>)[resume.responseName];
  if (typeof event !== 'object' || event === null) return undefined;
  const cursor = (event as Record<string, unknown>)[RESUME_CURSOR_ALIAS];
  return cursor === null ? undefined : cursor;
}

import { PRINCIPAL_POLICIES, type Principal } from '@cap/runtime';

/**
 * Named policies for `@policy(policies: [[...]])`: the one registry in @cap/runtime, shared with the
 * subgraphs' defence-in-depth checks so both evaluate a name the same way. A supergraph naming a policy that is
 * not there fails to load (the router refuses to start or to reload).
 */
export const POLICIES: Readonly<Record<string, (principal: Principal) => boolean>> = PRINCIPAL_POLICIES;

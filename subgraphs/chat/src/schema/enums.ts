import { builder } from '../builder.js';

/** `ParticipantKind`: USER or AGENT. */
export const ParticipantKindEnum = builder.enumType('ParticipantKind', {
  description: 'Who takes part in a conversation or wrote a message.',
  values: {
    USER: { description: 'A person (a `User`).' },
    AGENT: { description: 'The coding agent, identified by an agent id such as `coding-agent`.' },
  } as const,
});

import { builder } from '../builder.js';
import type { Build, BuildFailure, BuildJob, FixAttempt, FixPolicy } from '../generated/prisma/client.js';
import type { FixStats } from '../domain/stats.js';

/** `Build`. Refs are declared apart from their implementations, which refer to each other. */
export const BuildRef = builder.objectRef<Build>('Build');
/** `BuildJob`. */
export const BuildJobRef = builder.objectRef<BuildJob>('BuildJob');
/** `BuildFailure`. */
export const BuildFailureRef = builder.objectRef<BuildFailure>('BuildFailure');
/** `FixPolicy`. */
export const FixPolicyRef = builder.objectRef<FixPolicy>('FixPolicy');
/** `FixAttempt`. */
export const FixAttemptRef = builder.objectRef<FixAttempt>('FixAttempt');
/** `CiFixStats`. */
export const CiFixStatsRef = builder.objectRef<FixStats>('CiFixStats');

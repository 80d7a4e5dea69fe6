import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { approveFix } from '../domain/fixDecisions.js';
import {
  parseId,
  parseRepository,
  POLICY_LIMITS,
  requireRepoReader,
  setFixPolicy,
} from '../domain/policies.js';
import { fixStats } from '../domain/stats.js';
import { FixModeEnum, FixStatusEnum } from './enums.js';
import { CiFixStatsRef, FixAttemptRef, FixPolicyRef } from './refs.js';

FixPolicyRef.implement({
  description: "A repository's fix policy.",
  fields: (t) => ({
    repository: t.exposeString('repository', { description: '`owner/name`, lower case.' }),
    mode: t.field({ type: FixModeEnum, description: 'OFF, SUGGEST or AUTO.', resolve: (p) => p.mode }),
    branches: t.exposeStringList('branches', {
      description: 'Branch patterns it applies to (`*` matches any characters).',
      directives: policyDirectives.listSize(POLICY_LIMITS.branches),
    }),
    maxAttemptsPerPullRequest: t.exposeInt('maxAttemptsPerPullRequest', {
      description: 'Fix attempts per pull request at most.',
    }),
    maxAttemptsPerFingerprint: t.exposeInt('maxAttemptsPerFingerprint', {
      description: 'Fix attempts per failure fingerprint at most.',
    }),
    enabledBy: t.exposeID('enabledBy', { description: 'The accountable user fix tasks are created for.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change.' }),
  }),
});

FixAttemptRef.implement({
  description: 'A decision about fixing one failed build, and its outcome.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    buildId: t.exposeID('buildId', { description: 'The failed build.' }),
    repository: t.exposeString('repository', { description: '`owner/name`.' }),
    branch: t.exposeString('branch', { description: 'The failing branch.' }),
    headSha: t.exposeString('headSha', { description: 'The failing commit.' }),
    status: t.field({ type: FixStatusEnum, description: 'Where it stands.', resolve: (a) => a.status }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'Why it was superseded, escalated or failed.',
    }),
    fingerprints: t.exposeStringList('fingerprints', {
      description: "The failures' fingerprints.",
      directives: policyDirectives.listSize(20),
    }),
    taskId: t.exposeID('taskId', {
      nullable: true,
      description: 'The fix task (orchestration), once created.',
    }),
    fixPullRequest: t.exposeInt('fixPullRequest', { nullable: true, description: "The fix's pull request." }),
    costUsd: t.exposeFloat('costUsd', { nullable: true, description: "The fix task's model cost, USD." }),
    failedAt: t.expose('failedAt', { type: 'DateTime', description: 'When the build failed.' }),
    fixedAt: t.expose('fixedAt', {
      type: 'DateTime',
      nullable: true,
      description: "When the fix's checks passed.",
    }),
    acceptedAt: t.expose('acceptedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was merged.',
    }),
  }),
});

CiFixStatsRef.implement({
  description: 'How well fixing failing builds works.',
  fields: (t) => ({
    repository: t.exposeString('repository', { nullable: true, description: 'Null = every repository.' }),
    requested: t.exposeInt('requested', { description: 'Fixes asked of the agent.' }),
    fixed: t.exposeInt('fixed', { description: 'Fixes whose checks passed (accepted included).' }),
    accepted: t.exposeInt('accepted', { description: 'Fixes merged.' }),
    failed: t.exposeInt('failed', { description: 'Fixes whose checks or task failed.' }),
    escalated: t.exposeInt('escalated', { description: 'Failures handed to a person.' }),
    fixRate: t.exposeFloat('fixRate', { nullable: true, description: 'fixed / (fixed + failed).' }),
    meanTimeToGreenMs: t.exposeFloat('meanTimeToGreenMs', {
      nullable: true,
      description: "Mean time from the failing run to the fix's green checks, ms.",
    }),
    costPerFixUsd: t.exposeFloat('costPerFixUsd', {
      nullable: true,
      description: 'Model cost per fixed build, USD.',
    }),
  }),
});

builder.queryFields((t) => ({
  fixPolicy: t.field({
    type: FixPolicyRef,
    nullable: true,
    description: "A repository's fix policy (null = OFF) (`repos:read`).",
    directives: policyDirectives.requiresScopes('repos:read'),
    args: { repository: t.arg.string({ required: true, description: '`owner/name`.' }) },
    resolve: (_root, args, ctx) => {
      requireRepoReader(ctx.principal);
      return ctx.deps.prisma.fixPolicy.findUnique({
        where: { repository: parseRepository(args.repository) },
      });
    },
  }),
  ciFixStats: t.field({
    type: CiFixStatsRef,
    description:
      'Fix rate, time to green and cost per fix, of one repository or (no argument) overall (`repos:read`).',
    directives: { ...policyDirectives.requiresScopes('repos:read'), ...policyDirectives.cost(5) },
    args: { repository: t.arg.string({ required: false, description: '`owner/name`; omit for overall.' }) },
    resolve: (_root, args, ctx) => {
      requireRepoReader(ctx.principal);
      const repository = args.repository ? parseRepository(args.repository) : null;
      return fixStats(ctx.deps.prisma, repository);
    },
  }),
}));

const SetFixPolicyInput = builder.inputType('SetFixPolicyInput', {
  description: "A repository's fix policy.",
  fields: (t) => ({
    repository: t.string({ required: true, description: '`owner/name`.' }),
    mode: t.field({ type: FixModeEnum, required: true, description: 'OFF, SUGGEST or AUTO.' }),
    branches: t.stringList({ required: false, description: 'Branch patterns, 1-20 (default `*`).' }),
    maxAttemptsPerPullRequest: t.int({ required: false, description: '1-20 (default 3).' }),
    maxAttemptsPerFingerprint: t.int({ required: false, description: '1-20 (default 3).' }),
  }),
});

builder.mutationFields((t) => ({
  setFixPolicy: t.field({
    type: FixPolicyRef,
    description:
      "Sets a repository's fix policy; the caller becomes the accountable user of its fix tasks (`repos:write`).",
    directives: policyDirectives.requiresScopes('repos:write'),
    args: { input: t.arg({ type: SetFixPolicyInput, required: true, description: 'The policy.' }) },
    resolve: (_root, args, ctx) => setFixPolicy(ctx.deps, ctx.principal, args.input),
  }),
  approveFix: t.field({
    type: FixAttemptRef,
    description:
      "A person's go for a SUGGESTED fix: the fix task is created on their behalf (`repos:write`).",
    directives: policyDirectives.requiresScopes('repos:write'),
    args: { id: t.arg.id({ required: true, description: 'The fix.' }) },
    resolve: (_root, args, ctx) => approveFix(ctx.deps, ctx.principal, parseId(String(args.id))),
  }),
}));

export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An instant in time, serialized as an ISO-8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z). */
  DateTime: { input: string; output: string; }
  /** Any JSON value (a model evaluation and provenance). */
  JSON: { input: unknown; output: unknown; }
};

/** Users and agents to add to a conversation you take part in. */
export type AddParticipantsInput = {
  /** Agents to add. */
  agentIds?: InputMaybe<Array<Scalars['String']['input']>>;
  /** The conversation. */
  conversationId: Scalars['ID']['input'];
  /** Users to add (at most 100). */
  userIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** A credential for programs. Its secret is shown once, at creation; only its prefix is kept readable. */
export type ApiKey = Node & {
  __typename?: 'ApiKey';
  /** When the key was created. */
  createdAt: Scalars['DateTime']['output'];
  /** When the key stops working. */
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Last use, to the minute. */
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Label chosen by the owner. */
  name: Scalars['String']['output'];
  /** The user the key acts as. */
  owner: User;
  /** Public part of the key (`cap_<prefix>_…`), to recognise it. */
  prefix: Scalars['String']['output'];
  /** When the key was revoked. */
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Scopes the key was created with. */
  scopes: Array<Scalars['String']['output']>;
  /** Rate-limit tier. */
  tier: ApiKeyTier;
};

/** Rate-limit tier of an API key. Tiers above FREE are granted by admins. */
export type ApiKeyTier =
  /** Highest limits. */
  | 'ENTERPRISE'
  /** The default tier. */
  | 'FREE'
  /** Higher limits. */
  | 'PRO';

/** A file shared on a message. Stored under its id and served with its checked content type. */
export type Attachment = {
  __typename?: 'Attachment';
  /** MIME type, checked against the content when uploaded. */
  contentType: Scalars['String']['output'];
  /** When the upload was requested. */
  createdAt: Scalars['DateTime']['output'];
  /** A signed, expiring download link. */
  download: AttachmentDownload;
  /** Name given by the uploader, for display only. */
  fileName: Scalars['String']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Size in bytes. */
  size: Scalars['Int']['output'];
  /** Who uploaded it. */
  uploader: User;
};

/** A signed link to the bytes of an attachment. It expires; ask for a new one after that. */
export type AttachmentDownload = {
  __typename?: 'AttachmentDownload';
  /** When the link stops working. */
  expiresAt: Scalars['DateTime']['output'];
  /** GET this URL (no credentials needed) before `expiresAt`. */
  url: Scalars['String']['output'];
};

/** Where to upload a file: `PUT` its bytes to `uploadUrl` before `expiresAt`, then attach it with `attachToMessage` (or `postMessage(input: { attachmentIds })`). The content must match the declared type and size. */
export type AttachmentUpload = {
  __typename?: 'AttachmentUpload';
  /** The attachment being uploaded. */
  attachmentId: Scalars['ID']['output'];
  /** When the upload URL stops working. */
  expiresAt: Scalars['DateTime']['output'];
  /** The most bytes the upload may carry (the announced size). */
  maxBytes: Scalars['Int']['output'];
  /** The HTTP method to use: `PUT`. */
  uploadMethod: Scalars['String']['output'];
  /** Signed URL on the chat service; accepts one upload. */
  uploadUrl: Scalars['String']['output'];
};

/** A signed-in session: a short-lived access token and a refresh token that rotates on every use. */
export type AuthPayload = {
  __typename?: 'AuthPayload';
  /** JWT for `Authorization: Bearer`; lives 15 minutes. */
  accessToken: Scalars['String']['output'];
  /** When it expires. */
  accessTokenExpiresAt: Scalars['DateTime']['output'];
  /** Opaque; exchange it once with `refreshSession`. Reusing a spent one ends the session. */
  refreshToken: Scalars['String']['output'];
  /** When it expires. */
  refreshTokenExpiresAt: Scalars['DateTime']['output'];
  /** The signed-in user. */
  user: User;
};

/** A branch of a repository, as GitHub lists it. */
export type Branch = {
  __typename?: 'Branch';
  /** Branch name. */
  name: Scalars['String']['output'];
  /** Whether branch protection applies. */
  protected: Scalars['Boolean']['output'];
  /** Head commit. */
  sha: Scalars['String']['output'];
};

/** One attempt of a GitHub Actions workflow run. */
export type Build = {
  __typename?: 'Build';
  /** When it ended. */
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  /** SUCCESS, FAILURE, ... (upper case). */
  conclusion?: Maybe<Scalars['String']['output']>;
  /** Run time, ms. */
  durationMs?: Maybe<Scalars['Int']['output']>;
  /** What triggered it (push, pull_request...). */
  event: Scalars['String']['output'];
  /** The failures parsed from its logs. */
  failures: Array<BuildFailure>;
  /** What was decided about fixing it. */
  fix?: Maybe<FixAttempt>;
  /** The branch. */
  headBranch?: Maybe<Scalars['String']['output']>;
  /** The commit. */
  headSha: Scalars['String']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Its jobs (read when it failed). */
  jobs: Array<BuildJob>;
  /** Whether its logs were read. */
  logState: BuildLogState;
  /** The parse error, for people. */
  parseError?: Maybe<Scalars['String']['output']>;
  /** Why a log could not be read (CI_LOG_NOT_TEXT, CI_LOG_TOO_LARGE, GITHUB_UNAVAILABLE...). */
  parseErrorCode?: Maybe<Scalars['String']['output']>;
  /** `owner/name`, lower case. */
  repository: Scalars['String']['output'];
  /** The attempt (re-runs count up). */
  runAttempt: Scalars['Int']['output'];
  /** GitHub's run id. */
  runId: Scalars['String']['output'];
  /** Which path saw it first: WEBHOOK or POLL. */
  source: Scalars['String']['output'];
  /** When it started. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /** GitHub's status (lower case). */
  status: Scalars['String']['output'];
  /** The run on GitHub. */
  url: Scalars['String']['output'];
  /** The workflow. */
  workflowName?: Maybe<Scalars['String']['output']>;
};

/** A failure parsed from a job log. */
export type BuildFailure = {
  __typename?: 'BuildFailure';
  /** 1-based column. */
  column?: Maybe<Scalars['Int']['output']>;
  /** The relevant log lines. */
  excerpt: Scalars['String']['output'];
  /** Repository-relative file. */
  file?: Maybe<Scalars['String']['output']>;
  /** Stable across runs: tool + normalised message + place. */
  fingerprint: Scalars['String']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** The job it was printed in. */
  job?: Maybe<Scalars['String']['output']>;
  /** 1-based line. */
  line?: Maybe<Scalars['Int']['output']>;
  /** What the tool said. */
  message: Scalars['String']['output'];
  /** How often it appeared in the job. */
  occurrences: Scalars['Int']['output'];
  /** The failing test. */
  testName?: Maybe<Scalars['String']['output']>;
  /** The tool that reported it (tsc, eslint, vitest, ... generic). */
  tool: Scalars['String']['output'];
};

/** A job of a build. */
export type BuildJob = {
  __typename?: 'BuildJob';
  /** When it ended. */
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  /** GitHub's conclusion (lower case). */
  conclusion?: Maybe<Scalars['String']['output']>;
  /** Run time, ms. */
  durationMs?: Maybe<Scalars['Int']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** GitHub's job id. */
  jobId: Scalars['String']['output'];
  /** The job name. */
  name: Scalars['String']['output'];
  /** When it started. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /** GitHub's status (lower case). */
  status: Scalars['String']['output'];
  /** Its steps in order. */
  steps: Array<BuildStep>;
};

/** Whether a build's logs were read. */
export type BuildLogState =
  /** No log could be read: see `parseErrorCode`. */
  | 'FAILED'
  /** The build did not fail (or is still running). */
  | 'NOT_NEEDED'
  /** Failures parsed (some logs may still have a parse error). */
  | 'PARSED'
  /** Failed; its logs are being fetched and parsed. */
  | 'PENDING';

/** A filter on builds. */
export type BuildState =
  /** Concluded FAILURE or TIMED_OUT. */
  | 'FAILED'
  /** Concluded otherwise (cancelled, skipped, neutral...). */
  | 'OTHER'
  /** Not completed yet. */
  | 'RUNNING'
  /** Concluded SUCCESS. */
  | 'SUCCEEDED';

/** A step of a job, as GitHub lists it. */
export type BuildStep = {
  __typename?: 'BuildStep';
  /** ISO time. */
  completedAt?: Maybe<Scalars['String']['output']>;
  /** GitHub's conclusion. */
  conclusion?: Maybe<Scalars['String']['output']>;
  /** The step name. */
  name: Scalars['String']['output'];
  /** 1-based position in the job. */
  number: Scalars['Int']['output'];
  /** ISO time. */
  startedAt?: Maybe<Scalars['String']['output']>;
  /** GitHub's status (lower case). */
  status: Scalars['String']['output'];
};

/** Recent-message cache counters of the chat instance that answered, since it started. */
export type ChatCacheStats = {
  __typename?: 'ChatCacheStats';
  /** `redis` (shared by every instance) or `memory` (this process only). */
  backend: Scalars['String']['output'];
  /** Cache failures answered from the database instead. */
  errors: Scalars['Int']['output'];
  /** hits / (hits + misses), 0 when nothing was read yet. */
  hitRate: Scalars['Float']['output'];
  /** Message pages served from the cache. */
  hits: Scalars['Int']['output'];
  /** Message pages read from the database. */
  misses: Scalars['Int']['output'];
};

/** How well fixing failing builds works. */
export type CiFixStats = {
  __typename?: 'CiFixStats';
  /** Fixes merged. */
  accepted: Scalars['Int']['output'];
  /** Model cost per fixed build, USD. */
  costPerFixUsd?: Maybe<Scalars['Float']['output']>;
  /** Failures handed to a person. */
  escalated: Scalars['Int']['output'];
  /** Fixes whose checks or task failed. */
  failed: Scalars['Int']['output'];
  /** fixed / (fixed + failed). */
  fixRate?: Maybe<Scalars['Float']['output']>;
  /** Fixes whose checks passed (accepted included). */
  fixed: Scalars['Int']['output'];
  /** Mean time from the failing run to the fix's green checks, ms. */
  meanTimeToGreenMs?: Maybe<Scalars['Float']['output']>;
  /** Null = every repository. */
  repository?: Maybe<Scalars['String']['output']>;
  /** Fixes asked of the agent. */
  requested: Scalars['Int']['output'];
};

/** Which path of the hybrid classifier decided an answer. */
export type ClassificationPath =
  /** The keyword heuristic was confident enough (or the text had no known word). */
  | 'HEURISTIC'
  /** The ONNX model. */
  | 'MODEL';

/** How a model version scored on the test set it was judged on (null: no example for that head). */
export type ClassifierEvaluation = {
  __typename?: 'ClassifierEvaluation';
  /** Complexity accuracy, 0..1. */
  complexityAccuracy?: Maybe<Scalars['Float']['output']>;
  /** Examples labelled with a complexity. */
  complexityExamples: Scalars['Int']['output'];
  /** Complexity macro-F1, 0..1. */
  complexityMacroF1?: Maybe<Scalars['Float']['output']>;
  /** Which test set. */
  testSet: Scalars['String']['output'];
  /** Type accuracy, 0..1. */
  typeAccuracy?: Maybe<Scalars['Float']['output']>;
  /** Examples labelled with a type. */
  typeExamples: Scalars['Int']['output'];
  /** Type macro-F1, 0..1. */
  typeMacroF1?: Maybe<Scalars['Float']['output']>;
};

/** One version of the task classifier: an ONNX model with its metadata and evaluation. */
export type ClassifierModel = {
  __typename?: 'ClassifierModel';
  /** When it was last activated. */
  activatedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Whether this version classifies tasks now. */
  active: Scalars['Boolean']['output'];
  /** When the version was stored. */
  createdAt: Scalars['DateTime']['output'];
  /** Headline evaluation on its held-out test set. */
  evaluation?: Maybe<ClassifierEvaluation>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** The whole evaluation: every predictor side by side, confusion matrices, the comparison. */
  metrics: Scalars['JSON']['output'];
  /** sha256 of the ONNX file, hex. */
  sha256: Scalars['String']['output'];
  /** Committed or retrained. */
  source: ClassifierModelSource;
  /** The retrain that produced it. */
  trainingId?: Maybe<Scalars['ID']['output']>;
  /** Version name (date and seed or training). */
  version: Scalars['String']['output'];
};

/** A page of classifier model versions. */
export type ClassifierModelConnection = {
  __typename?: 'ClassifierModelConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<ClassifierModelEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A model version in a page. */
export type ClassifierModelEdge = {
  __typename?: 'ClassifierModelEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: ClassifierModel;
};

/** Where a classifier model version came from. */
export type ClassifierModelSource =
  /** The model committed with the code, seeded at first start. */
  | 'COMMITTED'
  /** Retrained by `trainClassifier` or the training CLI. */
  | 'TRAINED';

/** A retrain of the classifier from the stored outcome examples and the corpus, run off the request path. */
export type ClassifierTraining = {
  __typename?: 'ClassifierTraining';
  /** Whether the new version replaced the active one (only when better on the held-out set). */
  activated: Scalars['Boolean']['output'];
  /** The new and the active version side by side on the held-out set. */
  comparison?: Maybe<Scalars['JSON']['output']>;
  /** Corpus examples read (changelogs, git). */
  corpusExamples: Scalars['Int']['output'];
  /** When it was requested. */
  createdAt: Scalars['DateTime']['output'];
  /** Why it was (not) activated. */
  decision?: Maybe<Scalars['String']['output']>;
  /** Why it failed. */
  error?: Maybe<Scalars['String']['output']>;
  /** When it ended. */
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Examples held out; the new and the active version were both evaluated on them. */
  heldOutExamples: Scalars['Int']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** The version it produced. */
  model?: Maybe<ClassifierModel>;
  /** Outcome examples read. */
  outcomeExamples: Scalars['Int']['output'];
  /** `queued`, `corpus`, `features`, `type`, `complexity`, `evaluate`, `done` or `failed`. */
  phase: Scalars['String']['output'];
  /** 0..1. */
  progress: Scalars['Float']['output'];
  /** When it started. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Where it is. */
  status: ClassifierTrainingStatus;
};

/** A page of retrains. */
export type ClassifierTrainingConnection = {
  __typename?: 'ClassifierTrainingConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<ClassifierTrainingEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A retrain in a page. */
export type ClassifierTrainingEdge = {
  __typename?: 'ClassifierTrainingEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: ClassifierTraining;
};

/** State of a classifier retrain. */
export type ClassifierTrainingStatus =
  /** Stopped with `error`; no version was added. */
  | 'FAILED'
  /** Accepted, not started yet. */
  | 'QUEUED'
  /** Reading the corpus, training or evaluating (see `phase` and `progress`). */
  | 'RUNNING'
  /** A new version exists; `activated` says whether it replaced the active one. */
  | 'SUCCEEDED';

/** The text of a task to classify (nothing is stored). */
export type ClassifyTaskInput = {
  /** Description, at most 100,000 characters. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Title, at most 2,000 characters (may be empty). */
  title: Scalars['String']['input'];
};

/** A unit of work for the coding agent: what to do, where, and how far it got. */
export type CodingTask = {
  __typename?: 'CodingTask';
  /** Agent: whether its own commands may use the network (dependency installation follows the deployment's AGENT_SETUP_NETWORK). */
  allowNetwork: Scalars['Boolean']['output'];
  /** Executions created so far. */
  attempts: Scalars['Int']['output'];
  /** States the task may move to next, per the state machine (not whether the caller may move it). */
  availableTransitions: Array<TaskStatus>;
  /** The branch the task starts from and its pull request targets; null = the repository's default branch. */
  baseBranch?: Maybe<Scalars['String']['output']>;
  /** Agent: this task's budget overrides; null = the strategy's defaults. */
  budgets?: Maybe<TaskBudgets>;
  /** The ML classifier's classification of the task; null until it classified it. */
  classification?: Maybe<TaskClassification>;
  /** While CLASSIFYING: when the default strategy applies if no classification arrived. */
  classificationDeadlineAt?: Maybe<Scalars['DateTime']['output']>;
  /** Shell command the shell executor runs, if any, with secret-looking parts shown as [REDACTED]. */
  command?: Maybe<Scalars['String']['output']>;
  /** The classifier's complexity; null until classified. */
  complexity?: Maybe<TaskComplexity>;
  /** When the task was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Who created the task. */
  creator: User;
  /** What to do, in detail (may be empty). */
  description: Scalars['String']['output'];
  /** Every execution attempt, oldest first. */
  executions: Array<TaskExecution>;
  /** When it reached SUCCEEDED, FAILED or CANCELLED (cleared by a retry). */
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** The open question while AWAITING_INPUT; answer it with `provideTaskInput`. */
  inputRequest?: Maybe<TaskInput>;
  /** Every question the task asked and its answer, oldest first. */
  inputs: Array<TaskInput>;
  /** The most recent execution attempt, if any. */
  latestExecution?: Maybe<TaskExecution>;
  /** Queue priority. */
  priority: TaskPriority;
  /** The pull request opened for the task, once its work was pushed to a connected repository. */
  pullRequest?: Maybe<PullRequest>;
  /** The platform’s work on the task’s pull request (null when the task needs none: a local repository or nothing pushed). */
  pullRequestJob?: Maybe<PullRequestJob>;
  /** Repository reference: `owner/name` on GitHub, or the absolute path of a local git repository. */
  repository?: Maybe<Scalars['String']['output']>;
  /** The result of the most recent finished execution, if any. */
  result?: Maybe<ExecutionResult>;
  /** Agent: the command that installs the dependencies (secret-looking parts [REDACTED]); null = detected from the repository. */
  setupCommand?: Maybe<Scalars['String']['output']>;
  /** When its first execution started. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Where the task is in its life. */
  status: TaskStatus;
  /** The strategy executions use; null while the task waits for its classification. */
  strategy?: Maybe<ExecutionStrategy>;
  /** The strategy the creator chose, if any. */
  strategyOverride?: Maybe<ExecutionStrategy>;
  /** Where the strategy came from: override, classification or the default after the timeout. */
  strategySource?: Maybe<StrategySource>;
  /** Time limit of one execution, seconds; null means the deployment's default. */
  timeoutSeconds?: Maybe<Scalars['Int']['output']>;
  /** One-line summary, 1-200 characters. */
  title: Scalars['String']['output'];
  /** The classifier's label; null until classified. */
  type?: Maybe<TaskType>;
  /** When the task last changed. */
  updatedAt: Scalars['DateTime']['output'];
  /** LLM usage summed over every execution of the task. */
  usage: TaskUsage;
  /** Whether the agent's change passed its own tests: the last verification run of the most recent finished execution; null when none ran. */
  verification?: Maybe<TaskVerification>;
  /** Agent: the command whose exit code 0 means the work is done (secret-looking parts [REDACTED]); null = detected from the repository. */
  verifyCommand?: Maybe<Scalars['String']['output']>;
  /** Increases with every change of the task (optimistic locking). */
  version: Scalars['Int']['output'];
};

/** A page of coding tasks. */
export type CodingTaskConnection = {
  __typename?: 'CodingTaskConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<CodingTaskEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A coding task in a page, with its cursor. */
export type CodingTaskEdge = {
  __typename?: 'CodingTaskEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: CodingTask;
};

/** A conversation between users and, optionally, the agent. Only its participants can see it. */
export type Conversation = {
  __typename?: 'Conversation';
  /** When the conversation was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Who created the conversation. */
  creator: User;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** When the newest message was posted (or the creation). */
  lastActivityAt: Scalars['DateTime']['output'];
  /** Cursor of the newest message at the time of this read (a "nothing yet" cursor when empty). Pass it as `messagePosted(after:)` to receive exactly what is posted after this read. */
  latestCursor: Scalars['String']['output'];
  /** Messages, newest first, 50 per page at most (also the default). `first`/`after` page towards older messages, `last`/`before` towards newer ones. */
  messages: MessageConnection;
  /** Participants online in this conversation right now (by `heartbeat`; empty while unknown). */
  onlineUsers: Array<User>;
  /** Everyone taking part, in the order they joined. */
  participants: Array<Participant>;
  /** Title, 1-200 characters. */
  title: Scalars['String']['output'];
  /** Users typing right now (indicators last a few seconds unless renewed; empty while unknown). */
  typingUsers: Array<User>;
};


/** A conversation between users and, optionally, the agent. Only its participants can see it. */
export type ConversationMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};

/** A page of conversations. */
export type ConversationConnection = {
  __typename?: 'ConversationConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<ConversationEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A conversation in a page. */
export type ConversationEdge = {
  __typename?: 'ConversationEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: Conversation;
};

/** A new API key for the signed-in user. */
export type CreateApiKeyInput = {
  /** Optional expiry, in the future. */
  expiresAt?: InputMaybe<Scalars['DateTime']['input']>;
  /** Label, 1-100 characters. */
  name: Scalars['String']['input'];
  /** Scopes, each one the owner holds (see `scopes`). */
  scopes: Array<Scalars['String']['input']>;
  /** Defaults to FREE; higher tiers need ADMIN. */
  tier?: InputMaybe<ApiKeyTier>;
};

/** A new API key and its secret. The secret is never shown again. */
export type CreateApiKeyPayload = {
  __typename?: 'CreateApiKeyPayload';
  /** The key. */
  apiKey: ApiKey;
  /** Send as `Authorization: Bearer <secret>` or `X-API-Key`. */
  secret: Scalars['String']['output'];
};

/** A new conversation. The creator always takes part. */
export type CreateConversationInput = {
  /** Agents to add, e.g. `coding-agent` (lower-case slugs). */
  agentIds?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Other users to add (at most 100). */
  participantUserIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Title, 1-200 printable characters. */
  title: Scalars['String']['input'];
};

/** A new coding task. */
export type CreateTaskInput = {
  /** Agent: let its own commands use the network (default false; setup follows the deployment's AGENT_SETUP_NETWORK). */
  allowNetwork?: InputMaybe<Scalars['Boolean']['input']>;
  /** The branch to start from, clone and diff against, and the target of the task's pull request (needs `repository`); a git branch name, 1-255 characters (default: the repository's default branch). */
  baseBranch?: InputMaybe<Scalars['String']['input']>;
  /** Agent: budget overrides (default: the strategy's). */
  budgets?: InputMaybe<TaskBudgetsInput>;
  /** Shell command to run in the workspace (shell executor), up to 10,000 characters. Without one the LLM agent works on the task. */
  command?: InputMaybe<Scalars['String']['input']>;
  /** What to do, up to 20,000 characters; tab and line breaks allowed, no other control characters. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Queue priority (default NORMAL). */
  priority?: InputMaybe<TaskPriority>;
  /** `owner/name` on GitHub (connected through the github subgraph: cloned with a short-lived token, the agent's branch pushed back and a pull request opened), or the absolute path or file:// URL of a local git repository the worker clones (the agent pushes its branch back there). */
  repository?: InputMaybe<Scalars['String']['input']>;
  /** Agent: shell command that installs the dependencies, up to 10,000 characters (default: detected, e.g. `npm ci`). */
  setupCommand?: InputMaybe<Scalars['String']['input']>;
  /** Override the strategy the classification would select; the task is queued at once. */
  strategy?: InputMaybe<ExecutionStrategy>;
  /** Time limit of one execution, 1-86,400 seconds (default: the deployment's). */
  timeoutSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** One-line summary, 1-200 printable characters. */
  title: Scalars['String']['input'];
  /** Agent (tasks without `command`): shell command whose exit code 0 means the work is done, up to 10,000 characters (default: detected, e.g. `npm test`). */
  verifyCommand?: InputMaybe<Scalars['String']['input']>;
};

/** A new user. */
export type CreateUserInput = {
  /** Name shown to other users, 1-100 characters. */
  displayName: Scalars['String']['input'];
  /** Login email; stored lower-cased. */
  email: Scalars['String']['input'];
  /** Initial password, 12-1024 characters. */
  password: Scalars['String']['input'];
  /** What the user may do. */
  role: Role;
};

/** Size of the change an execution made. */
export type DiffStats = {
  __typename?: 'DiffStats';
  /** Lines added. */
  additions: Scalars['Int']['output'];
  /** Lines deleted. */
  deletions: Scalars['Int']['output'];
  /** Files added, changed or deleted. */
  filesChanged: Scalars['Int']['output'];
};

/** A new body for one of your messages. */
export type EditMessageInput = {
  /** The new Markdown body (same limits as posting). */
  body: Scalars['String']['input'];
  /** The message to edit. */
  messageId: Scalars['ID']['input'];
};

/** Why an execution failed. */
export type ExecutionError = {
  __typename?: 'ExecutionError';
  /** Underlying detail, e.g. the last lines of stderr (redacted). */
  cause?: Maybe<Scalars['String']['output']>;
  /** Stable code: COMMAND_FAILED, EXECUTION_TIMEOUT, NO_EXECUTOR, WORKSPACE_FAILED, WORKER_LOST, EXECUTOR_ERROR, SANDBOX_UNAVAILABLE, OUTPUT_LIMIT_EXCEEDED, AGENT_NOT_CONFIGURED, LLM_UNAVAILABLE, LLM_REJECTED, AGENT_STUCK, BUDGET_EXCEEDED, VERIFICATION_FAILED, SETUP_FAILED, GIT_FAILED, AGENT_CANCELLED, NO_REPOSITORY, REPOSITORY_ACCESS_DENIED, BASE_BRANCH_NOT_FOUND (see the error-code table of the README). */
  code: Scalars['String']['output'];
  /** What happened, for people. */
  message: Scalars['String']['output'];
};

/** What an execution produced, or why it failed. */
export type ExecutionResult = {
  __typename?: 'ExecutionResult';
  /** Agent: the branch its work was pushed to, `agent/<first 8 characters of the task id>`. */
  branch?: Maybe<Scalars['String']['output']>;
  /** Paths changed in the workspace, relative to its root. */
  changedFiles: Array<Scalars['String']['output']>;
  /** Agent: the commit pushed to `branch`; null when nothing was committed. */
  commitSha?: Maybe<Scalars['String']['output']>;
  /** When the result was recorded. */
  createdAt: Scalars['DateTime']['output'];
  /** Agent: unified diff of `branch` against the commit it started from, capped at AGENT_DIFF_MAX_CHARS (redacted). */
  diff?: Maybe<Scalars['String']['output']>;
  /** Size of the change. */
  diffStats: DiffStats;
  /** Why it failed; null when it did not. */
  error?: Maybe<ExecutionError>;
  /** Exit code of the shell command, if one ran. */
  exitCode?: Maybe<Scalars['Int']['output']>;
  /** Agent: model calls made (0 for other executors). */
  modelCalls: Scalars['Int']['output'];
  /** The pull request opened for the change, if any. */
  pullRequestUrl?: Maybe<Scalars['String']['output']>;
  /** Agent: why it stopped: `finished`, or the error code. */
  stopReason?: Maybe<Scalars['String']['output']>;
  /** One-paragraph account of the outcome. */
  summary: Scalars['String']['output'];
  /** Agent: tool calls the model made (0 for other executors). */
  toolCalls: Scalars['Int']['output'];
  /** Agent: its last verification run in this execution; null when none ran. */
  verification?: Maybe<TaskVerification>;
};

/** Where one execution attempt is. */
export type ExecutionStatus =
  /** Ended with a question for the creator; the answer starts a new attempt. */
  | 'AWAITING_INPUT'
  /** Stopped because the task was cancelled. */
  | 'CANCELLED'
  /** Finished with an error (see its result). */
  | 'FAILED'
  /** Its worker stopped renewing the lease (crash) or shut down; a new attempt may follow. */
  | 'LOST'
  /** Waiting for a worker. */
  | 'QUEUED'
  /** A worker holds it under a lease it renews. */
  | 'RUNNING'
  /** Finished successfully. */
  | 'SUCCEEDED';

/** How an execution works on a task. */
export type ExecutionStrategy =
  /** Change, check, repeat until the checks pass (medium tasks; also the default). */
  | 'ITERATIVE'
  /** Several cooperating agents: planner, implementers, reviewer (complex tasks). */
  | 'MULTI_AGENT'
  /** One pass: plan, change, done (simple tasks). */
  | 'SINGLE_SHOT';

/** A decision about fixing one failed build, and its outcome. */
export type FixAttempt = {
  __typename?: 'FixAttempt';
  /** When it was merged. */
  acceptedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The failing branch. */
  branch: Scalars['String']['output'];
  /** The failed build. */
  buildId: Scalars['ID']['output'];
  /** The fix task's model cost, USD. */
  costUsd?: Maybe<Scalars['Float']['output']>;
  /** When the build failed. */
  failedAt: Scalars['DateTime']['output'];
  /** The failures' fingerprints. */
  fingerprints: Array<Scalars['String']['output']>;
  /** The fix's pull request. */
  fixPullRequest?: Maybe<Scalars['Int']['output']>;
  /** When the fix's checks passed. */
  fixedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The failing commit. */
  headSha: Scalars['String']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Why it was superseded, escalated or failed. */
  reason?: Maybe<Scalars['String']['output']>;
  /** `owner/name`. */
  repository: Scalars['String']['output'];
  /** Where it stands. */
  status: FixStatus;
  /** The fix task (orchestration), once created. */
  taskId?: Maybe<Scalars['ID']['output']>;
};

/** What happens when a repository's build fails. */
export type FixMode =
  /** A fix task is created at once. */
  | 'AUTO'
  /** Nothing: failures are recorded and parsed only. */
  | 'OFF'
  /** A fix is suggested and waits for a person's go (`approveFix`). */
  | 'SUGGEST';

/** A repository's fix policy. */
export type FixPolicy = {
  __typename?: 'FixPolicy';
  /** Branch patterns it applies to (`*` matches any characters). */
  branches: Array<Scalars['String']['output']>;
  /** The accountable user fix tasks are created for. */
  enabledBy: Scalars['ID']['output'];
  /** Fix attempts per failure fingerprint at most. */
  maxAttemptsPerFingerprint: Scalars['Int']['output'];
  /** Fix attempts per pull request at most. */
  maxAttemptsPerPullRequest: Scalars['Int']['output'];
  /** OFF, SUGGEST or AUTO. */
  mode: FixMode;
  /** `owner/name`, lower case. */
  repository: Scalars['String']['output'];
  /** Last change. */
  updatedAt: Scalars['DateTime']['output'];
};

/** Where a fix stands. */
export type FixStatus =
  /** The fix's pull request was merged. */
  | 'ACCEPTED'
  /** Handed to a person: the failure failed to be fixed twice, or a cap was reached. */
  | 'ESCALATED'
  /** The fix's checks failed, or its task failed. */
  | 'FAILED'
  /** The fix's pull request passed its checks. */
  | 'FIXED'
  /** A fix task was asked of orchestration. */
  | 'REQUESTED'
  /** Waits for a person's go. */
  | 'SUGGESTED'
  /** A newer commit on the branch made it moot. */
  | 'SUPERSEDED';

/** Where to send the user to connect their GitHub account. */
export type GithubAuthorization = {
  __typename?: 'GithubAuthorization';
  /** The link works until then, once. */
  expiresAt: Scalars['DateTime']['output'];
  /** GitHub’s authorize page; it returns to the OAuth callback. */
  url: Scalars['String']['output'];
};

/** The probability the classifier gives one label. */
export type LabelProbability = {
  __typename?: 'LabelProbability';
  /** The label (a TaskType or TaskComplexity value). */
  label: Scalars['String']['output'];
  /** 0..1. */
  probability: Scalars['Float']['output'];
};

/** What a log entry records. */
export type LogKind =
  /** One line a command printed; `data.stream` is stdout or stderr. */
  | 'COMMAND_OUTPUT'
  /** Tokens and cost of an LLM call, in `data`. */
  | 'LLM_USAGE'
  /** A message from the agent to the user. */
  | 'MESSAGE'
  /** A step of the execution (started, cloning, exited...). */
  | 'STEP'
  /** A tool the agent called, with its arguments in `data`. */
  | 'TOOL_CALL';

/** Severity of a log entry. */
export type LogLevel =
  /** Detail for troubleshooting. */
  | 'DEBUG'
  /** A failure. */
  | 'ERROR'
  /** Normal progress. */
  | 'INFO'
  /** Something unexpected that did not stop the work. */
  | 'WARN';

/** Email and password. */
export type LoginInput = {
  /** Login email (case-insensitive). */
  email: Scalars['String']['input'];
  /** Password, at most 1024 characters. */
  password: Scalars['String']['input'];
};

/** The session to end. */
export type LogoutInput = {
  /** End every session of the token's user. */
  allSessions?: InputMaybe<Scalars['Boolean']['input']>;
  /** The session's current refresh token. */
  refreshToken: Scalars['String']['input'];
};

/** Result of a logout. */
export type LogoutPayload = {
  __typename?: 'LogoutPayload';
  /** Sessions ended by this call (0 if already ended). */
  revokedSessions: Scalars['Int']['output'];
};

/** How a pull request is merged. */
export type MergeMethod =
  /** A merge commit. */
  | 'MERGE'
  /** The commits rebased onto the base branch. */
  | 'REBASE'
  /** One squashed commit. */
  | 'SQUASH';

/** A message in a conversation. Deleted messages stay as tombstones (no body) so their place in the order remains. */
export type Message = {
  __typename?: 'Message';
  /** Files attached to the message, oldest first. */
  attachments: Array<Attachment>;
  /** Who wrote it. */
  author: MessageAuthor;
  /** Markdown text; null once deleted. */
  body?: Maybe<Scalars['String']['output']>;
  /** The conversation the message belongs to. */
  conversation: Conversation;
  /** When it was posted. */
  createdAt: Scalars['DateTime']['output'];
  /** Cursor of this message: pass it as `messagePosted(after:)` to resume after it, or as a page cursor. */
  cursor: Scalars['String']['output'];
  /** When it was deleted. */
  deletedAt?: Maybe<Scalars['DateTime']['output']>;
  /** When it was last edited. */
  editedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Earlier versions, oldest first (empty unless edited; removed on delete). */
  edits: Array<MessageEdit>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Position in the conversation: 1, 2, 3, ... without gaps. */
  seq: Scalars['Int']['output'];
};

/** Who wrote a message: a user or the agent. */
export type MessageAuthor = {
  __typename?: 'MessageAuthor';
  /** The agent id, when the agent wrote it. */
  agentId?: Maybe<Scalars['String']['output']>;
  /** User or agent. */
  kind: ParticipantKind;
  /** The author, when a user wrote it. */
  user?: Maybe<User>;
};

/** A page of messages. */
export type MessageConnection = {
  __typename?: 'MessageConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<MessageEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A message in a page. */
export type MessageEdge = {
  __typename?: 'MessageEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: Message;
};

/** A previous version of an edited message. */
export type MessageEdit = {
  __typename?: 'MessageEdit';
  /** The body before this edit (Markdown). */
  body: Scalars['String']['output'];
  /** When it was replaced. */
  editedAt: Scalars['DateTime']['output'];
  /** Who edited it (the author). */
  editor?: Maybe<User>;
};

/** A page of search hits. */
export type MessageSearchConnection = {
  __typename?: 'MessageSearchConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<MessageSearchEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A search hit in a page. */
export type MessageSearchEdge = {
  __typename?: 'MessageSearchEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: MessageSearchHit;
};

/** A message matching a search, with its rank and a highlighted excerpt. */
export type MessageSearchHit = {
  __typename?: 'MessageSearchHit';
  /** The matching message. */
  message: Message;
  /** Relevance (PostgreSQL `ts_rank`); higher is better. */
  rank: Scalars['Float']['output'];
  /** Excerpt of the body, HTML-escaped, with matching words wrapped in `<mark>…</mark>`: safe to render as HTML. */
  snippet: Scalars['String']['output'];
};

/** Root of every write. */
export type Mutation = {
  __typename?: 'Mutation';
  /** Makes a model version the active one (admins); NOT_FOUND when there is no such version. */
  activateModel: ClassifierModel;
  /** Adds users and agents to a conversation you take part in; they can read its whole history. */
  addParticipants: Conversation;
  /** A person's go for a SUGGESTED fix: the fix task is created on their behalf (`repos:write`). */
  approveFix: FixAttempt;
  /** Attaches an uploaded file (from `createAttachmentUpload`) to one of your messages in the same conversation. */
  attachToMessage: Message;
  /** Cancels a task: its creator or an admin. A running execution is stopped within seconds. */
  cancelTask: CodingTask;
  /** Changes a user's role (admins only). Their API keys lose scopes the new role lacks; within seconds their access tokens are refused (refresh the session for the new role) and their subscriptions closed. */
  changeUserRole: User;
  /** Closes a pull request without merging it. */
  closePullRequest: PullRequest;
  /** Connects a GitHub repository (GitHub is asked for it with the credential that reaches it). */
  connectRepository: Repository;
  /** Creates an API key for the signed-in user (not with an API key); returns its secret once. Throttled per client address. */
  createApiKey: CreateApiKeyPayload;
  /** Reserves an attachment in a conversation you take part in and returns a signed upload URL. Accepted types: PNG, JPEG, GIF, WebP, PDF, plain text, Markdown, JSON; file names that look like paths are refused. */
  createAttachmentUpload: AttachmentUpload;
  /** Creates a conversation with you and the given users and agents. */
  createConversation: Conversation;
  /** Creates a task (`tasks:write`). It waits for its classification (CLASSIFYING, at most the classification timeout) or, with a strategy override, is queued at once. */
  createTask: CodingTask;
  /** Creates a user (admins only). */
  createUser: User;
  /** Deactivates a user (admins only): logins fail, sessions end, and within seconds their access tokens and API keys are refused and their subscriptions closed. */
  deactivateUser: User;
  /** Deletes one of your messages: its body, history and attachments are removed; a tombstone remains. */
  deleteMessage: Message;
  /** Disconnects a repository; the platform forgets its pull requests. */
  disconnectRepository: Repository;
  /** Replaces the body of one of your messages; the previous body is kept in `edits`. */
  editMessage: Message;
  /** Starts connecting the caller’s GitHub account (OAuth): the link to open, valid once. */
  githubAuthorizeUrl: GithubAuthorization;
  /** Marks you online in a conversation; repeat well within 30 seconds to stay online, or pass `online: false` to leave. */
  heartbeat: PresenceEvent;
  /** Signs in with email and password. Throttled per client address. */
  login: AuthPayload;
  /** Ends a session. Access tokens already issued expire on their own (15 minutes at most). */
  logout: LogoutPayload;
  /** Merges a pull request on GitHub. */
  mergePullRequest: PullRequest;
  /** Posts a message as you in a conversation you take part in. */
  postMessage: Message;
  /** Answers an AWAITING_INPUT task's question and queues the task again: its creator or an admin. */
  provideTaskInput: CodingTask;
  /** Exchanges a refresh token for a new access token and a new refresh token. Throttled per client address. */
  refreshSession: AuthPayload;
  /** Reopens a closed pull request. */
  reopenPullRequest: PullRequest;
  /** Queues a new execution of a FAILED task: its creator or an admin. */
  retryTask: CodingTask;
  /** Revokes an API key (its owner or an admin). Within seconds the router refuses it and closes its subscriptions. */
  revokeApiKey: ApiKey;
  /** Activates the version that was active before the current one (admins); CONFLICT when there was none. */
  rollbackModel: ClassifierModel;
  /** Starts signing access tokens with a new key (admins only); the old key verifies until its tokens expire. */
  rotateSigningKey: SigningKeyRotation;
  /** Sets a repository's fix policy; the caller becomes the accountable user of its fix tasks (`repos:write`). */
  setFixPolicy: FixPolicy;
  /** Shows (or hides) your typing indicator; it lapses after a few seconds unless repeated. */
  setTyping: TypingEvent;
  /** Starts a retrain from the stored outcome examples and the corpus (admins), in a worker thread; returns at once. The new version is activated only if it beats the active one on the same held-out set. CONFLICT while another retrain runs. */
  trainClassifier: ClassifierTraining;
};


/** Root of every write. */
export type MutationActivateModelArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationAddParticipantsArgs = {
  input: AddParticipantsInput;
};


/** Root of every write. */
export type MutationApproveFixArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationAttachToMessageArgs = {
  attachmentId: Scalars['ID']['input'];
  messageId: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationCancelTaskArgs = {
  id: Scalars['ID']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


/** Root of every write. */
export type MutationChangeUserRoleArgs = {
  role: Role;
  userId: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationClosePullRequestArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationConnectRepositoryArgs = {
  name: Scalars['String']['input'];
  owner: Scalars['String']['input'];
};


/** Root of every write. */
export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
};


/** Root of every write. */
export type MutationCreateAttachmentUploadArgs = {
  contentType: Scalars['String']['input'];
  conversationId: Scalars['ID']['input'];
  fileName: Scalars['String']['input'];
  size: Scalars['Int']['input'];
};


/** Root of every write. */
export type MutationCreateConversationArgs = {
  input: CreateConversationInput;
};


/** Root of every write. */
export type MutationCreateTaskArgs = {
  input: CreateTaskInput;
};


/** Root of every write. */
export type MutationCreateUserArgs = {
  input: CreateUserInput;
};


/** Root of every write. */
export type MutationDeactivateUserArgs = {
  userId: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationDeleteMessageArgs = {
  messageId: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationDisconnectRepositoryArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationEditMessageArgs = {
  input: EditMessageInput;
};


/** Root of every write. */
export type MutationHeartbeatArgs = {
  conversationId: Scalars['ID']['input'];
  online?: InputMaybe<Scalars['Boolean']['input']>;
};


/** Root of every write. */
export type MutationLoginArgs = {
  input: LoginInput;
};


/** Root of every write. */
export type MutationLogoutArgs = {
  input: LogoutInput;
};


/** Root of every write. */
export type MutationMergePullRequestArgs = {
  id: Scalars['ID']['input'];
  method?: InputMaybe<MergeMethod>;
};


/** Root of every write. */
export type MutationPostMessageArgs = {
  input: PostMessageInput;
};


/** Root of every write. */
export type MutationProvideTaskInputArgs = {
  input: ProvideTaskInputInput;
};


/** Root of every write. */
export type MutationRefreshSessionArgs = {
  input: RefreshSessionInput;
};


/** Root of every write. */
export type MutationReopenPullRequestArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationRetryTaskArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationSetFixPolicyArgs = {
  input: SetFixPolicyInput;
};


/** Root of every write. */
export type MutationSetTypingArgs = {
  conversationId: Scalars['ID']['input'];
  typing?: InputMaybe<Scalars['Boolean']['input']>;
};


/** Root of every write. */
export type MutationTrainClassifierArgs = {
  epochs?: InputMaybe<Scalars['Int']['input']>;
};

/** An object with a stable id, fetchable with `node(id:)` (users and API keys). */
export type Node = {
  /** Stable identifier. */
  id: Scalars['ID']['output'];
};

/** Relay pagination state of a connection. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Cursor of the last item of this page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** True when more items follow this page. */
  hasNextPage: Scalars['Boolean']['output'];
  /** True when items precede this page. */
  hasPreviousPage: Scalars['Boolean']['output'];
  /** Cursor of the first item of this page. */
  startCursor?: Maybe<Scalars['String']['output']>;
};

/** A member of a conversation: a user or an agent. */
export type Participant = {
  __typename?: 'Participant';
  /** The agent id, for AGENT participants. */
  agentId?: Maybe<Scalars['String']['output']>;
  /** When the participant was added. */
  joinedAt: Scalars['DateTime']['output'];
  /** User or agent. */
  kind: ParticipantKind;
  /** The user, for USER participants. */
  user?: Maybe<User>;
};

/** Who takes part in a conversation or wrote a message. */
export type ParticipantKind =
  /** The coding agent, identified by an agent id such as `coding-agent`. */
  | 'AGENT'
  /** A person (a `User`). */
  | 'USER';

/** A new message. */
export type PostMessageInput = {
  /** Uploaded attachments to attach (at most 10). */
  attachmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** Markdown, not blank; at most MESSAGE_MAX_BYTES (32 KiB by default) of UTF-8. */
  body: Scalars['String']['input'];
  /** The conversation to post in. */
  conversationId: Scalars['ID']['input'];
};

/** A participant came online in a conversation or went offline. */
export type PresenceEvent = {
  __typename?: 'PresenceEvent';
  /** The conversation. */
  conversationId: Scalars['ID']['output'];
  /** Until when they count as online without another heartbeat (null when offline). */
  expiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** True when online, false when they left or their heartbeat lapsed. */
  online: Scalars['Boolean']['output'];
  /** Who. */
  user: User;
};

/** An answer to an AWAITING_INPUT task's question. */
export type ProvideTaskInputInput = {
  /** The answer, 1-10,000 characters. */
  answer: Scalars['String']['input'];
  /** The task waiting for input. */
  taskId: Scalars['ID']['input'];
};

/** A pull request on a connected repository (opened by the platform for a task, or seen on GitHub). */
export type PullRequest = {
  __typename?: 'PullRequest';
  /** The branch it merges into. */
  baseBranch: Scalars['String']['output'];
  /** Conclusion of its latest completed check suite (SUCCESS, FAILURE...); null before any. */
  checks?: Maybe<Scalars['String']['output']>;
  /** Whether it is a draft. */
  draft: Scalars['Boolean']['output'];
  /** The branch with the changes. */
  headBranch: Scalars['String']['output'];
  /** The head commit. */
  headSha?: Maybe<Scalars['String']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Whether GitHub can merge it; null while GitHub computes it. */
  mergeable?: Maybe<Scalars['Boolean']['output']>;
  /** Its number on GitHub. */
  number: Scalars['Int']['output'];
  /** Its repository. */
  repository: Repository;
  /** Open, closed or merged. */
  state: PullRequestState;
  /** The coding task it was opened for. */
  taskId?: Maybe<Scalars['ID']['output']>;
  /** Title. */
  title: Scalars['String']['output'];
  /** Last change the platform saw. */
  updatedAt: Scalars['DateTime']['output'];
  /** Its page on GitHub. */
  url: Scalars['String']['output'];
};

/** What happened to a pull request. */
export type PullRequestAction =
  /** Its check suite completed (`checks`). */
  | 'CHECKS'
  /** Closed without being merged. */
  | 'CLOSED'
  /** Merged. */
  | 'MERGED'
  /** Opened (by the platform for a task, or on GitHub). */
  | 'OPENED'
  /** A review was submitted. */
  | 'REVIEWED'
  /** Title, body, head or state changed (also: reopened). */
  | 'UPDATED';

/** The platform’s work on a task’s pull request: pending, done, or failed with the reason. */
export type PullRequestJob = {
  __typename?: 'PullRequestJob';
  /** Attempts made for the task’s latest run. */
  attempts: Scalars['Int']['output'];
  /** The coded error of the last failure (NOT_FOUND, GITHUB_NOT_CONFIGURED, GITHUB_UNAVAILABLE). */
  errorCode?: Maybe<Scalars['String']['output']>;
  /** Why the last attempt failed (or why nothing was opened); null after a success. */
  lastError?: Maybe<Scalars['String']['output']>;
  /** When a pending job is tried next. */
  nextAttemptAt: Scalars['DateTime']['output'];
  /** Where it stands. */
  status: PullRequestJobStatus;
  /** Last change. */
  updatedAt: Scalars['DateTime']['output'];
};

/** Where the platform stands with opening or updating a task’s pull request. */
export type PullRequestJobStatus =
  /** The pull request is open or updated. */
  | 'DONE'
  /** Given up: `lastError` says why (a permanent failure, or out of attempts). */
  | 'FAILED'
  /** Waiting for its (next) attempt. */
  | 'PENDING';

/** Where a pull request stands. */
export type PullRequestState =
  /** Closed without being merged. */
  | 'CLOSED'
  /** Merged. */
  | 'MERGED'
  /** Open for review. */
  | 'OPEN';

/** A change of a pull request, with its state after the change. */
export type PullRequestUpdate = {
  __typename?: 'PullRequestUpdate';
  /** What happened. */
  action: PullRequestAction;
  /** The pull request as it is after the change. */
  pullRequest: PullRequest;
};

/** Root of every read. */
export type Query = {
  __typename?: 'Query';
  /** The signed-in user's API keys, newest first. */
  apiKeys: Array<ApiKey>;
  /** A build by id, with its jobs and parsed failures (`repos:read`). */
  build?: Maybe<Build>;
  /** A repository's builds, newest first; pages of 50 (at most 100). */
  builds: QueryBuildsConnection;
  /** Hit rate of the recent-message cache (admins only). */
  chatCacheStats: ChatCacheStats;
  /** Fix rate, time to green and cost per fix, of one repository or (no argument) overall (`repos:read`). */
  ciFixStats: CiFixStats;
  /** Classifier model versions, newest first, with their metrics and which is active (at most 100 per page). */
  classifierModels: ClassifierModelConnection;
  /** One retrain and its progress (admins); NOT_FOUND when there is none. */
  classifierTraining: ClassifierTraining;
  /** Retrains, newest first (admins; at most 100 per page). */
  classifierTrainings: ClassifierTrainingConnection;
  /** Previews how the active model classifies a task text (`tasks:read`); BAD_USER_INPUT when the text is too long. */
  classifyTask: TaskClassification;
  /** A conversation you take part in (FORBIDDEN for others, NOT_FOUND when it does not exist). */
  conversation: Conversation;
  /** Conversations you take part in, most recently active first (at most 50 per page, also the default). */
  conversations: ConversationConnection;
  /** A repository's fix policy (null = OFF) (`repos:read`). */
  fixPolicy?: Maybe<FixPolicy>;
  /** The signed-in user, or null for anonymous callers. */
  me?: Maybe<User>;
  /** A message in a conversation you take part in (FORBIDDEN for others, NOT_FOUND when it does not exist). */
  message: Message;
  /** A user or API key by id, or null when there is none you may see: yourself and your keys, anyone and any key for admins. */
  node?: Maybe<Node>;
  /** Connected repositories the caller may see (one connected with a user’s own GitHub account: that user and admins), in connection order; pages of 20 (at most 100). */
  repositories: QueryRepositoriesConnection;
  /** The connected repository `owner/name`, or null (also for one connected with another user’s GitHub account). */
  repository?: Maybe<Repository>;
  /** Every scope the platform knows. */
  scopes: Array<ScopeInfo>;
  /** Full-text search over the messages of your conversations, best match first (20 per page by default, 50 at most). Web-search syntax: words, "quoted phrases", `or`, `-excluded`. */
  searchMessages: MessageSearchConnection;
  /** A task by id, or null when there is none (needs `tasks:read`). */
  task?: Maybe<CodingTask>;
  /** A task's log in `seq` order; pages of 100 (at most 1000). Needs `tasks:read`. */
  taskLogs: TaskLogConnection;
  /** Tasks, filtered and sorted (default newest first); pages of 20 (at most 100). Needs `tasks:read`. */
  tasks: CodingTaskConnection;
  /** A user by id: yourself, or anyone for admins. */
  user?: Maybe<User>;
  /** All users, newest first (admins only); pages of 50 (at most 100). */
  users: QueryUsersConnection;
};


/** Root of every read. */
export type QueryApiKeysArgs = {
  includeRevoked?: InputMaybe<Scalars['Boolean']['input']>;
};


/** Root of every read. */
export type QueryBuildArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryBuildsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  branch?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  repository: Scalars['String']['input'];
  status?: InputMaybe<BuildState>;
};


/** Root of every read. */
export type QueryCiFixStatsArgs = {
  repository?: InputMaybe<Scalars['String']['input']>;
};


/** Root of every read. */
export type QueryClassifierModelsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


/** Root of every read. */
export type QueryClassifierTrainingArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryClassifierTrainingsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


/** Root of every read. */
export type QueryClassifyTaskArgs = {
  input: ClassifyTaskInput;
};


/** Root of every read. */
export type QueryConversationArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryConversationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


/** Root of every read. */
export type QueryFixPolicyArgs = {
  repository: Scalars['String']['input'];
};


/** Root of every read. */
export type QueryMessageArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryRepositoriesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


/** Root of every read. */
export type QueryRepositoryArgs = {
  name: Scalars['String']['input'];
  owner: Scalars['String']['input'];
};


/** Root of every read. */
export type QuerySearchMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  query: Scalars['String']['input'];
};


/** Root of every read. */
export type QueryTaskArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryTaskLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  taskId: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryTasksArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<TaskFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  orderBy?: InputMaybe<TaskOrder>;
};


/** Root of every read. */
export type QueryUserArgs = {
  id: Scalars['ID']['input'];
};


/** Root of every read. */
export type QueryUsersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  role?: InputMaybe<Role>;
};

export type QueryBuildsConnection = {
  __typename?: 'QueryBuildsConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<QueryBuildsConnectionEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

export type QueryBuildsConnectionEdge = {
  __typename?: 'QueryBuildsConnectionEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: Build;
};

export type QueryRepositoriesConnection = {
  __typename?: 'QueryRepositoriesConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<QueryRepositoriesConnectionEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

export type QueryRepositoriesConnectionEdge = {
  __typename?: 'QueryRepositoriesConnectionEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: Repository;
};

export type QueryUsersConnection = {
  __typename?: 'QueryUsersConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<QueryUsersConnectionEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

export type QueryUsersConnectionEdge = {
  __typename?: 'QueryUsersConnectionEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: User;
};

/** A refresh token to exchange. */
export type RefreshSessionInput = {
  /** From login or the last refresh. */
  refreshToken: Scalars['String']['input'];
};

/** A GitHub repository connected to the platform: tasks may name it as `owner/name`. */
export type Repository = {
  __typename?: 'Repository';
  /** How the platform reaches it. */
  access: RepositoryAccess;
  /** Its branches, from GitHub; pages of 30 (at most 100), forward only. */
  branches: RepositoryBranchesConnection;
  /** When it was connected. */
  connectedAt: Scalars['DateTime']['output'];
  /** Pull requests target this branch. */
  defaultBranch: Scalars['String']['output'];
  /** `owner/name`. */
  fullName: Scalars['String']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** Its name. */
  name: Scalars['String']['output'];
  /** The account that owns it. */
  owner: Scalars['String']['output'];
  /** What the platform’s credential may do on it (asked from GitHub). */
  permissions: RepositoryPermissions;
  /** Pull requests the platform knows on it, newest first (at most 100). */
  pullRequests: Array<PullRequest>;
  /** Its page on GitHub. */
  url: Scalars['String']['output'];
  /** Who can see it. */
  visibility: RepositoryVisibility;
};


/** A GitHub repository connected to the platform: tasks may name it as `owner/name`. */
export type RepositoryBranchesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};

/** Which credential the platform reaches a repository with. */
export type RepositoryAccess =
  /** The GitHub App installation covering it. */
  | 'APP'
  /** The OAuth token of the user who connected it. */
  | 'OAUTH'
  /** The configured personal access token. */
  | 'TOKEN';

export type RepositoryBranchesConnection = {
  __typename?: 'RepositoryBranchesConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<RepositoryBranchesConnectionEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

export type RepositoryBranchesConnectionEdge = {
  __typename?: 'RepositoryBranchesConnectionEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: Branch;
};

/** What the platform’s credential may do on a repository. */
export type RepositoryPermissions = {
  __typename?: 'RepositoryPermissions';
  /** Administer it. */
  admin: Scalars['Boolean']['output'];
  /** Clone and read it. */
  pull: Scalars['Boolean']['output'];
  /** Push branches (needed for the agent’s work). */
  push: Scalars['Boolean']['output'];
};

/** Who can see a repository on GitHub. */
export type RepositoryVisibility =
  /** Members of the enterprise. */
  | 'INTERNAL'
  /** Only people and apps given access. */
  | 'PRIVATE'
  /** Anyone. */
  | 'PUBLIC';

/** What a user may do. ADMIN includes DEVELOPER includes VIEWER. */
export type Role =
  /** Manages users and everything else. */
  | 'ADMIN'
  /** Creates and runs tasks, chats, connects repositories, manages own API keys. */
  | 'DEVELOPER'
  /** Reads. */
  | 'VIEWER';

/** A permission that roles grant and API keys carry. */
export type ScopeInfo = {
  __typename?: 'ScopeInfo';
  /** What the scope allows. */
  description: Scalars['String']['output'];
  /** Scope name, e.g. `tasks:write`. */
  name: Scalars['String']['output'];
};

/** A repository's fix policy. */
export type SetFixPolicyInput = {
  /** Branch patterns, 1-20 (default `*`). */
  branches?: InputMaybe<Array<Scalars['String']['input']>>;
  /** 1-20 (default 3). */
  maxAttemptsPerFingerprint?: InputMaybe<Scalars['Int']['input']>;
  /** 1-20 (default 3). */
  maxAttemptsPerPullRequest?: InputMaybe<Scalars['Int']['input']>;
  /** OFF, SUGGEST or AUTO. */
  mode: FixMode;
  /** `owner/name`. */
  repository: Scalars['String']['input'];
};

/** Result of a signing-key rotation. */
export type SigningKeyRotation = {
  __typename?: 'SigningKeyRotation';
  /** The `kid` that signs new access tokens from now on. */
  keyId: Scalars['String']['output'];
};

/** Sort direction. */
export type SortDirection =
  /** Smallest (oldest, lowest) first. */
  | 'ASC'
  /** Largest (newest, highest) first. */
  | 'DESC';

/** Where a task's strategy came from. */
export type StrategySource =
  /** The classifier's complexity selected it. */
  | 'CLASSIFICATION'
  /** No classification arrived in time: the configured default applies. */
  | 'DEFAULT'
  /** The creator chose it. */
  | 'OVERRIDE';

/** Root of every live stream (graphql-ws, through the router). */
export type Subscription = {
  __typename?: 'Subscription';
  /** A repository's builds (of one branch, when given) after every change from now on: recorded, running, completed, logs parsed (`repos:read`). Never an older state of a build than one already sent. */
  buildStatusChanged: Build;
  /** New messages of a conversation you take part in, in order, each once. With `after` (a message cursor or `Conversation.latestCursor`) it first replays everything posted since, then continues live: resubscribe with the last cursor you received to resume without gaps or duplicates. */
  messagePosted: Message;
  /** Messages of a conversation as they are edited, deleted or get attachments. */
  messageUpdated: Message;
  /** Who comes online and goes offline in a conversation, starting with who is online now. */
  presence: PresenceEvent;
  /** Live changes of the pull requests of a repository (`owner` and `name`) or of a task (`taskId`): opened, updated, checks completed, reviewed, merged, closed; each with the pull request’s state after the change. */
  pullRequestUpdated: PullRequestUpdate;
  /** A task's log entries after `afterSeq`, like `taskLogs` (stored ones first, then live ones, each exactly once and in `seq` order) but several per event: a subscriber that keeps up receives each entry as soon as it is ready (often one per batch), one that falls behind receives larger batches (up to the server's `TASK_LOG_BATCH_MAX`) instead of a backlog of events. To resume after a disconnect, subscribe again with the last `lastSeq` received. */
  taskLogBatches: TaskLogBatch;
  /** A task's log entries after `afterSeq`: the stored ones first, then live ones as they are written, each exactly once and in `seq` order. To resume after a disconnect, subscribe again with the last `seq` received. */
  taskLogs: TaskLog;
  /** A task's current state when subscribed, then its new state after every change (never an older one). */
  taskUpdated: CodingTask;
  /** Every change of a task matching the filter, including changes that take a task out of it (`inFilter: false`). */
  tasksChanged: TaskChange;
  /** Who starts and stops typing in a conversation (others than you), starting with who is typing now. */
  typing: TypingEvent;
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionBuildStatusChangedArgs = {
  branch?: InputMaybe<Scalars['String']['input']>;
  repository: Scalars['String']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionMessagePostedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  conversationId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionMessageUpdatedArgs = {
  conversationId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionPresenceArgs = {
  conversationId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionPullRequestUpdatedArgs = {
  name?: InputMaybe<Scalars['String']['input']>;
  owner?: InputMaybe<Scalars['String']['input']>;
  taskId?: InputMaybe<Scalars['ID']['input']>;
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionTaskLogBatchesArgs = {
  afterSeq?: InputMaybe<Scalars['Int']['input']>;
  taskId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionTaskLogsArgs = {
  afterSeq?: InputMaybe<Scalars['Int']['input']>;
  taskId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionTaskUpdatedArgs = {
  taskId: Scalars['ID']['input'];
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionTasksChangedArgs = {
  filter?: InputMaybe<TaskFilter>;
};


/** Root of every live stream (graphql-ws, through the router). */
export type SubscriptionTypingArgs = {
  conversationId: Scalars['ID']['input'];
};

/** A task's agent budget overrides; a null field takes the strategy's default. */
export type TaskBudgets = {
  __typename?: 'TaskBudgets';
  /** Input plus output tokens over every model call. */
  tokens?: Maybe<Scalars['Int']['output']>;
  /** Tool calls the model may make. */
  toolCalls?: Maybe<Scalars['Int']['output']>;
  /** Cost, US dollars. */
  usd?: Maybe<Scalars['Float']['output']>;
  /** Wall time of the agent's work, seconds. */
  wallTimeSeconds?: Maybe<Scalars['Int']['output']>;
};

/** Agent budget overrides of one task; a field left out takes the strategy's default. Caps: tokens 50,000,000, usd 1000, toolCalls 5,000, wallTimeSeconds 86,400. */
export type TaskBudgetsInput = {
  /** Input plus output tokens, 1-50,000,000. */
  tokens?: InputMaybe<Scalars['Int']['input']>;
  /** Tool calls, 1-5,000. */
  toolCalls?: InputMaybe<Scalars['Int']['input']>;
  /** Cost, US dollars, above 0 and at most 1000. */
  usd?: InputMaybe<Scalars['Float']['input']>;
  /** Wall time of the agent's work, 1-86,400 seconds. */
  wallTimeSeconds?: InputMaybe<Scalars['Int']['input']>;
};

/** A change of a task, for live task lists. */
export type TaskChange = {
  __typename?: 'TaskChange';
  /** False when the change took the task out of the subscription's filter: remove it from the list. */
  inFilter: Scalars['Boolean']['output'];
  /** The status before the change; null when the task was just created. */
  previousStatus?: Maybe<TaskStatus>;
  /** The task after the change. */
  task: CodingTask;
};

/** The classifier's type and complexity of a task, with confidences and which path decided. */
export type TaskClassification = {
  __typename?: 'TaskClassification';
  /** When the task was classified; null for a preview (`classifyTask`). */
  classifiedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Size of the change: SIMPLE (1 file, ≤ 20 lines), MEDIUM (≤ 5 files, ≤ 200 lines), COMPLEX. */
  complexity: TaskComplexity;
  /** Confidence in `complexity`, 0..1. */
  complexityConfidence: Scalars['Float']['output'];
  /** Which path decided `complexity`. */
  complexityDecidedBy: ClassificationPath;
  /** Probability of every complexity. */
  complexityProbabilities: Array<LabelProbability>;
  /** The model version that answered. */
  modelVersion: Scalars['String']['output'];
  /** What kind of change. */
  type: TaskType;
  /** Confidence in `type`, 0..1. */
  typeConfidence: Scalars['Float']['output'];
  /** Which path decided `type`. */
  typeDecidedBy: ClassificationPath;
  /** Probability of every type. */
  typeProbabilities: Array<LabelProbability>;
};

/** How hard the classifier judges a task; selects the execution strategy. */
export type TaskComplexity =
  /** Selects MULTI_AGENT. */
  | 'COMPLEX'
  /** Selects ITERATIVE. */
  | 'MEDIUM'
  /** Selects SINGLE_SHOT. */
  | 'SIMPLE';

/** One attempt at running a task, from claim to outcome. */
export type TaskExecution = {
  __typename?: 'TaskExecution';
  /** Attempt number within its task, from 1. */
  attempt: Scalars['Int']['output'];
  /** LLM cost, US dollars. */
  costUsd: Scalars['Float']['output'];
  /** When it ended. */
  endedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The executor that ran it, e.g. `shell`. */
  executor?: Maybe<Scalars['String']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** While RUNNING: when the worker must have renewed its lease, or another worker takes over. */
  leaseExpiresAt?: Maybe<Scalars['DateTime']['output']>;
  /** The LLM model used, when an agent ran it. */
  model?: Maybe<Scalars['String']['output']>;
  /** When it was queued. */
  queuedAt: Scalars['DateTime']['output'];
  /** What it produced; null until it ended. */
  result?: Maybe<ExecutionResult>;
  /** When a worker claimed it. */
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Where the attempt is. */
  status: ExecutionStatus;
  /** The strategy it runs with. */
  strategy: ExecutionStrategy;
  /** The task it belongs to. */
  task: CodingTask;
  /** LLM input tokens used. */
  tokensIn: Scalars['Int']['output'];
  /** LLM output tokens used. */
  tokensOut: Scalars['Int']['output'];
  /** The worker that claimed it (host/pid/instance). */
  worker?: Maybe<Scalars['String']['output']>;
};

/** Narrows a task list; every given field must match. */
export type TaskFilter = {
  /** Created at or after this instant. */
  createdAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Created before this instant. */
  createdBefore?: InputMaybe<Scalars['DateTime']['input']>;
  /** Tasks created by this user. */
  creatorId?: InputMaybe<Scalars['ID']['input']>;
  /** Tasks of this repository reference (as shown in `repository`). */
  repository?: InputMaybe<Scalars['String']['input']>;
  /** Tasks in any of these states. */
  status?: InputMaybe<Array<TaskStatus>>;
};

/** A question a running task asked its creator, and the answer. */
export type TaskInput = {
  __typename?: 'TaskInput';
  /** The answer; null while unanswered. */
  answer?: Maybe<Scalars['String']['output']>;
  /** When it was answered. */
  answeredAt?: Maybe<Scalars['DateTime']['output']>;
  /** Id of the user who answered. */
  answeredBy?: Maybe<Scalars['ID']['output']>;
  /** When it was asked. */
  askedAt: Scalars['DateTime']['output'];
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** What the task asked. */
  question: Scalars['String']['output'];
};

/** One entry of a task’s append-only log. Secrets are redacted before entries are stored. */
export type TaskLog = {
  __typename?: 'TaskLog';
  /** When the entry was written. */
  createdAt: Scalars['DateTime']['output'];
  /** Structured data, redacted (e.g. `{ "stream": "stderr" }`). */
  data?: Maybe<Scalars['JSON']['output']>;
  /** The execution that wrote it, if any. */
  executionId?: Maybe<Scalars['ID']['output']>;
  /** What the entry records. */
  kind: LogKind;
  /** Severity. */
  level: LogLevel;
  /** The text (one line of output for COMMAND_OUTPUT), redacted. */
  message: Scalars['String']['output'];
  /** Position in the task’s log: 1, 2, 3… with no gaps, in write order. */
  seq: Scalars['Int']['output'];
  /** The task the entry belongs to. */
  taskId: Scalars['ID']['output'];
};

/** Consecutive entries of a task’s log delivered at once: whatever was ready when the subscriber could take more. */
export type TaskLogBatch = {
  __typename?: 'TaskLogBatch';
  /** The entries in `seq` order, contiguous (no hole) and following the previous batch’s `lastSeq`; never empty. */
  entries: Array<TaskLog>;
  /** The `seq` of the last entry: subscribe again with `afterSeq` set to it to resume after it. */
  lastSeq: Scalars['Int']['output'];
};

/** A page of task log entries. */
export type TaskLogConnection = {
  __typename?: 'TaskLogConnection';
  /** The items of this page, each with its cursor. */
  edges: Array<TaskLogEdge>;
  /** Where this page sits in the whole list. */
  pageInfo: PageInfo;
};

/** A task log entry in a page, with its cursor. */
export type TaskLogEdge = {
  __typename?: 'TaskLogEdge';
  /** Opaque position of this item; pass it as `after` or `before`. */
  cursor: Scalars['String']['output'];
  /** The item. */
  node: TaskLog;
};

/** Sort order of a task list; ties are broken by creation time, then id. */
export type TaskOrder = {
  /** Which way. */
  direction: SortDirection;
  /** What to sort by. */
  field: TaskOrderField;
};

/** What to sort tasks by. */
export type TaskOrderField =
  /** Creation time. */
  | 'CREATED_AT'
  /** Priority (URGENT highest), then creation time. */
  | 'PRIORITY'
  /** Time of the last change. */
  | 'UPDATED_AT';

/** Queue priority: workers take higher priorities first, then older tasks. */
export type TaskPriority =
  /** Before NORMAL and LOW. */
  | 'HIGH'
  /** After everything else. */
  | 'LOW'
  /** The default. */
  | 'NORMAL'
  /** First. */
  | 'URGENT';

/** Where a coding task is in its life. SUCCEEDED and CANCELLED are final; FAILED is final unless retried. */
export type TaskStatus =
  /** The execution asked the creator a question; answer it with `provideTaskInput`. */
  | 'AWAITING_INPUT'
  /** Cancelled by a user. */
  | 'CANCELLED'
  /** Waiting for the classifier to label type and complexity (at most the classification timeout). */
  | 'CLASSIFYING'
  /** The last execution failed; `retryTask` queues a new one. */
  | 'FAILED'
  /** Accepted, not yet handed on (only inside the creating transaction). */
  | 'PENDING'
  /** Waiting for a worker. */
  | 'QUEUED'
  /** An execution is running. */
  | 'RUNNING'
  /** Done successfully. */
  | 'SUCCEEDED';

/** What kind of change a task asks for, as the classifier labels it. */
export type TaskType =
  /** Fix a defect. */
  | 'BUG_FIX'
  /** Maintenance: dependencies, build, configuration. */
  | 'CHORE'
  /** Write or fix documentation. */
  | 'DOCUMENTATION'
  /** Add a capability. */
  | 'FEATURE'
  /** None of the above. */
  | 'OTHER'
  /** Restructure without changing behaviour. */
  | 'REFACTOR'
  /** Add or fix tests. */
  | 'TEST';

/** LLM usage of a task, summed over its executions. */
export type TaskUsage = {
  __typename?: 'TaskUsage';
  /** LLM cost, US dollars. */
  costUsd: Scalars['Float']['output'];
  /** The models the executions used. */
  models: Array<Scalars['String']['output']>;
  /** LLM input tokens. */
  tokensIn: Scalars['Int']['output'];
  /** LLM output tokens. */
  tokensOut: Scalars['Int']['output'];
};

/** The outcome of the agent's last verification run on its change: its tests, the task's `verifyCommand` or the command it detected. */
export type TaskVerification = {
  __typename?: 'TaskVerification';
  /** The command that ran, cut to 2,000 characters, secret-looking parts [REDACTED]; null when none was named. */
  command?: Maybe<Scalars['String']['output']>;
  /** True when the command exited 0. */
  passed: Scalars['Boolean']['output'];
};

/** Someone started or stopped typing in a conversation. */
export type TypingEvent = {
  __typename?: 'TypingEvent';
  /** The conversation. */
  conversationId: Scalars['ID']['output'];
  /** True when they started, false when they stopped (or it lapsed). */
  typing: Scalars['Boolean']['output'];
  /** Who. */
  user: User;
};

/** A person who uses the platform. */
export type User = Node & {
  __typename?: 'User';
  /** False once an admin deactivated the user. */
  active: Scalars['Boolean']['output'];
  /** The user's API keys, newest first. Visible to the user and to admins; needs `apikeys:manage`. */
  apiKeys: Array<ApiKey>;
  /** When the user was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Name shown to other users. */
  displayName: Scalars['String']['output'];
  /** Login email. Visible to the user themselves and to admins; null for everyone else. */
  email?: Maybe<Scalars['String']['output']>;
  /** Stable identifier. */
  id: Scalars['ID']['output'];
  /** What the user may do. */
  role: Role;
};


/** A person who uses the platform. */
export type UserApiKeysArgs = {
  includeRevoked?: InputMaybe<Scalars['Boolean']['input']>;
};

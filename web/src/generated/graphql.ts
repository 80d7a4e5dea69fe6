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
};

/** A credential for programs. Its secret is shown once, at creation; only its prefix is kept readable. */
export type ApiKey = {
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

/** Root of every write. */
export type Mutation = {
  __typename?: 'Mutation';
  /** Changes a user's role (admins only). Their API keys lose scopes the new role lacks. */
  changeUserRole: User;
  /** Creates an API key for the signed-in user; returns its secret once. */
  createApiKey: CreateApiKeyPayload;
  /** Creates a user (admins only). */
  createUser: User;
  /** Deactivates a user (admins only): logins fail, sessions end, API keys stop working. */
  deactivateUser: User;
  /** Signs in with email and password. Throttled per client address. */
  login: AuthPayload;
  /** Ends a session. Access tokens already issued expire on their own (15 minutes at most). */
  logout: LogoutPayload;
  /** Exchanges a refresh token for a new access token and a new refresh token. */
  refreshSession: AuthPayload;
  /** Revokes an API key (its owner or an admin). It stops working within the router cache TTL. */
  revokeApiKey: ApiKey;
  /** Starts signing access tokens with a new key (admins only); the old key verifies until its tokens expire. */
  rotateSigningKey: SigningKeyRotation;
};


/** Root of every write. */
export type MutationChangeUserRoleArgs = {
  role: Role;
  userId: Scalars['ID']['input'];
};


/** Root of every write. */
export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
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
export type MutationLoginArgs = {
  input: LoginInput;
};


/** Root of every write. */
export type MutationLogoutArgs = {
  input: LogoutInput;
};


/** Root of every write. */
export type MutationRefreshSessionArgs = {
  input: RefreshSessionInput;
};


/** Root of every write. */
export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};

/** Relay pagination state of a connection. */
export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

/** Root of every read. */
export type Query = {
  __typename?: 'Query';
  /** The signed-in user's API keys, newest first. */
  apiKeys: Array<ApiKey>;
  /** The signed-in user, or null for anonymous callers. */
  me?: Maybe<User>;
  /** Every scope the platform knows. */
  scopes: Array<ScopeInfo>;
  /** A user by id: yourself, or anyone for admins. */
  user?: Maybe<User>;
  /** All users, newest first (admins only). */
  users: QueryUsersConnection;
};


/** Root of every read. */
export type QueryApiKeysArgs = {
  includeRevoked?: InputMaybe<Scalars['Boolean']['input']>;
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

export type QueryUsersConnection = {
  __typename?: 'QueryUsersConnection';
  edges: Array<QueryUsersConnectionEdge>;
  pageInfo: PageInfo;
};

export type QueryUsersConnectionEdge = {
  __typename?: 'QueryUsersConnectionEdge';
  cursor: Scalars['String']['output'];
  node: User;
};

/** A refresh token to exchange. */
export type RefreshSessionInput = {
  /** From login or the last refresh. */
  refreshToken: Scalars['String']['input'];
};

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

/** Result of a signing-key rotation. */
export type SigningKeyRotation = {
  __typename?: 'SigningKeyRotation';
  /** The `kid` that signs new access tokens from now on. */
  keyId: Scalars['String']['output'];
};

/** A person who uses the platform. */
export type User = {
  __typename?: 'User';
  /** False once an admin deactivated the user. */
  active: Scalars['Boolean']['output'];
  /** The user's API keys, newest first. Visible to the user and to admins. */
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

/**
 * Roles and the scopes they grant. ADMIN includes DEVELOPER includes VIEWER. API keys carry a subset of
 * their owner's scopes, never more (checked by identity when a key is created and by the router when used,
 * since the owner's role may have been lowered since).
 */
export const Role = { ADMIN: 'ADMIN', DEVELOPER: 'DEVELOPER', VIEWER: 'VIEWER' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const ROLES: readonly Role[] = [Role.VIEWER, Role.DEVELOPER, Role.ADMIN];

/** Every scope the platform knows, with what it allows. */
export const SCOPES = {
  'graph:read': 'Read non-sensitive data across the graph.',
  'tasks:read': 'Read coding tasks, executions and logs.',
  'tasks:write': 'Create, cancel and retry coding tasks.',
  'chat:read': 'Read conversations the caller participates in.',
  'chat:write': 'Post and edit messages in conversations the caller participates in.',
  'repos:read': 'Read connected repositories, branches and pull requests.',
  'repos:write': 'Connect repositories and open pull requests.',
  'apikeys:manage': "Create and revoke the caller's own API keys.",
  'users:manage': 'Create users, change roles, deactivate users.',
} as const;
export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

const VIEWER_SCOPES: Scope[] = ['graph:read', 'tasks:read', 'chat:read', 'repos:read'];
const DEVELOPER_SCOPES: Scope[] = [
  ...VIEWER_SCOPES,
  'tasks:write',
  'chat:write',
  'repos:write',
  'apikeys:manage',
];
const ADMIN_SCOPES: Scope[] = [...DEVELOPER_SCOPES, 'users:manage'];

const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  VIEWER: VIEWER_SCOPES,
  DEVELOPER: DEVELOPER_SCOPES,
  ADMIN: ADMIN_SCOPES,
};

/** The scopes a role grants. */
export function scopesForRole(role: Role): readonly Scope[] {
  return ROLE_SCOPES[role];
}

/** True when `role` is at least `minimum` in the ADMIN > DEVELOPER > VIEWER order. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

import type { OrgClaims } from '#libs/registry';

export const ORG_ROLES = ['admin', 'member', 'viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** Who a request acts as: the platform admin, or one org's token (directly or through a session JWT). */
export type Principal =
  | { kind: 'platform-admin' }
  | { kind: 'org'; orgId: string; orgSlug: string; role: OrgRole; tokenId: string; tokenName: string; via: 'api-token' | 'session' };

export type OrgPrincipal = Extract<Principal, { kind: 'org' }>;

const ROLE_RANK: Record<OrgRole, number> = { viewer: 0, member: 1, admin: 2 };

/** True when `role` may do what `required` may. */
export function roleAtLeast(role: OrgRole, required: OrgRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[required];
}

/** The claims an org principal's queries run under in its org database (as its session JWT carries them). */
export function claimsOf(principal: OrgPrincipal): OrgClaims {
  return { sub: principal.tokenId, role: 'authenticated', org_id: principal.orgId, app_role: principal.role };
}

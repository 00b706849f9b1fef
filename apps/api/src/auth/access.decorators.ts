import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { OrgPrincipal, OrgRole, Principal } from '#libs/auth';

export const ACCESS_METADATA = 'platform:access';

/** Who may call a route: anyone, the platform admin, or an org token of at least a role. */
export type Access = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'platform-admin' } | { kind: 'org'; role: OrgRole };

/** No token needed (health, metrics). Routes without an access decorator are refused to everyone. */
export const Public = () => SetMetadata(ACCESS_METADATA, { kind: 'public' } satisfies Access);

/** Any valid credential: the platform admin token, an org token or a session. */
export const AnyPrincipal = () => SetMetadata(ACCESS_METADATA, { kind: 'authenticated' } satisfies Access);

/** The authenticated caller, whoever it is. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<{ principal?: Principal }>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a public route');
  return principal;
});

/** Only the platform admin token. */
export const PlatformAdminOnly = () => SetMetadata(ACCESS_METADATA, { kind: 'platform-admin' } satisfies Access);

/** An org API token or session JWT whose role is at least `role`. */
export const OrgAccess = (role: OrgRole) => SetMetadata(ACCESS_METADATA, { kind: 'org', role } satisfies Access);

/** The authenticated caller of an org route. */
export const CurrentOrg = createParamDecorator((_data: unknown, context: ExecutionContext): OrgPrincipal => {
  const principal = context.switchToHttp().getRequest<{ principal?: Principal }>().principal;
  if (principal?.kind !== 'org') throw new Error('CurrentOrg used on a route without OrgAccess');
  return principal;
});

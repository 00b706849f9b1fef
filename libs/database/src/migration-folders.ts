import { fromProjectRoot } from '#libs/config';

/** Folder of the control-plane migrations. */
export const controlPlaneMigrationsDir = (): string => fromProjectRoot('supabase/migrations/control');

/** Folder of the per-organization migrations. */
export const orgMigrationsDir = (): string => fromProjectRoot('supabase/migrations/org');

import { fromProjectRoot } from '#libs/config';

/** Folder of the control-plane migrations. */
export const controlPlaneMigrationsDir = (): string => fromProjectRoot('supabase/migrations/control');

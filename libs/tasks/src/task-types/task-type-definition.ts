import type { ClassConstructor } from 'class-transformer';
import type { PlatformConfig } from '#libs/config';

/**
 * What the API and the worker both know of a task type: its name and the class that
 * validates its params (class-validator), plus checks that need the configuration.
 * The worker pairs each definition with a handler that runs it.
 */
export interface TaskTypeDefinition<Params extends object = object> {
  type: string;
  params: ClassConstructor<Params>;
  /** Problems with otherwise well-formed params, e.g. an executable not on the allow-list. */
  check?(params: Params, config: PlatformConfig): string[];
}

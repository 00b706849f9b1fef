import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding the platform's package.json, whether running from source or from dist/. */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'nest-cli.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (no nest-cli.json above this file)');
    dir = parent;
  }
  cached = dir;
  return dir;
}

/** Resolves `path` against the project root unless it is already absolute. */
export function fromProjectRoot(path: string): string {
  return resolve(projectRoot(), path);
}

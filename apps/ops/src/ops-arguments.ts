import { plainToInstance } from 'class-transformer';
import { IsIn, IsString, Matches, MinLength, validateSync } from 'class-validator';

/** Org slugs as the registry accepts them (see the control-plane migration's CHECK). */
const SLUG = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const SLUG_MESSAGE = 'slug must be 3-40 lowercase letters, digits or dashes, not starting or ending with a dash';

export const OPS_USAGE = `usage: npm run ops -- <command>
  status                  every org instance with its status and schema version
  upgrade                 migrate every READY org database to the newest schema, one after another
  backup <slug> <file>    dump the org's database to <file> (pg_dump custom format)
  restore <slug> <file>   replace the org's database contents with the dump in <file>
  url <slug>              print the org's database URL (its own login role), e.g. for PostgREST
  rotate-encryption-key   re-encrypt org credentials, webhook secrets and org secrets under the first ENCRYPTION_KEY
  jwks                    print JWT_SECRET's secrets as a JSON Web Key Set (PostgREST's secret during a rotation)`;

export class SlugArguments {
  @Matches(SLUG, { message: SLUG_MESSAGE })
  slug!: string;
}

export class FileArguments extends SlugArguments {
  @IsString({ message: 'file must be a path' })
  @MinLength(1, { message: 'file must be a path' })
  file!: string;
}

class CommandName {
  @IsIn(['status', 'upgrade', 'backup', 'restore', 'url', 'rotate-encryption-key', 'jwks'], { message: 'unknown command' })
  command!: string;
}

export type OpsCommand =
  | { command: 'status' | 'upgrade' | 'rotate-encryption-key' | 'jwks' }
  | { command: 'backup' | 'restore'; slug: string; file: string }
  | { command: 'url'; slug: string };

/** Thrown for a command line that names no known command or has bad arguments; the message includes the usage. */
export class OpsUsageError extends Error {
  override name = 'OpsUsageError';
}

/** Parses and validates `npm run ops -- <command> [args]`. */
export function parseOpsArguments(argv: string[]): OpsCommand {
  const [command = '', ...rest] = argv;
  check(CommandName, { command });
  switch (command) {
    case 'status':
    case 'upgrade':
    case 'rotate-encryption-key':
    case 'jwks':
      expectCount(rest, 0);
      return { command };
    case 'url': {
      expectCount(rest, 1);
      return { command, ...check(SlugArguments, { slug: rest[0] }) };
    }
    default: {
      expectCount(rest, 2);
      const { slug, file } = check(FileArguments, { slug: rest[0], file: rest[1] });
      return { command: command as 'backup' | 'restore', slug, file };
    }
  }
}

function expectCount(args: string[], count: number): void {
  if (args.length !== count) throw new OpsUsageError(`wrong number of arguments\n${OPS_USAGE}`);
}

function check<T extends object>(type: new () => T, plain: object): T {
  const instance = plainToInstance(type, plain);
  const problems = validateSync(instance).flatMap((error) => Object.values(error.constraints ?? {}));
  if (problems.length > 0) throw new OpsUsageError(`${problems.join('; ')}\n${OPS_USAGE}`);
  return instance;
}

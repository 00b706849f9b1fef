import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { resolve } from 'node:path';
import { SessionTokens } from '#libs/auth';
import { PinoNestLogger } from '#libs/logging';
import { OrgConnection } from '#libs/registry';
import { provideInfrastructure, runProcess, StartupError } from '#libs/runtime';
import { OpsUsageError, parseOpsArguments, type OpsCommand } from './ops-arguments.js';
import { OpsModule } from './ops.module.js';
import { EncryptionKeyRotation } from './encryption-key-rotation.service.js';
import { OrgBackupService } from './org-backup.service.js';
import { OrgStatusService } from './org-status.service.js';
import { PgClientToolFailedError, PgClientToolMissingError } from './pg-client-tool.js';

// A CLI prints its results on stdout; its logs would drown them unless asked for with LOG_LEVEL.
process.env.LOG_LEVEL ||= 'warn';

// `npm run ops -- <command>`: operations on org databases over the same configuration as the platform.
let command: OpsCommand;
try {
  command = parseOpsArguments(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof OpsUsageError)) throw error;
  process.stderr.write(`ops: ${error.message}\n`);
  process.exit(2);
}

await runProcess('ops', async (context) => {
  const config = await provideInfrastructure(context);
  const app = await NestFactory.createApplicationContext(OpsModule.forRoot(config, context.logger), {
    logger: new PinoNestLogger(context.logger),
    abortOnError: false,
  });
  context.lifecycle.onStop('ops', () => app.close());
  let ok: boolean;
  try {
    ok = await run(
      command,
      app.get(OrgBackupService),
      app.get(OrgStatusService),
      app.get(OrgConnection),
      app.get(EncryptionKeyRotation),
      app.get(SessionTokens),
    );
  } catch (error) {
    // The operator's mistake or a tool's own complaint is the whole message; anything else keeps its stack.
    if (error instanceof PgClientToolMissingError || error instanceof PgClientToolFailedError) throw new StartupError(error.message);
    throw error;
  }
  await context.lifecycle.stopAll(() => undefined);
  process.exit(ok ? 0 : 1);
});

async function run(
  command: OpsCommand,
  backups: OrgBackupService,
  orgs: OrgStatusService,
  connection: OrgConnection,
  rotation: EncryptionKeyRotation,
  sessions: SessionTokens,
): Promise<boolean> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  switch (command.command) {
    case 'status': {
      const lines = await orgs.status();
      print(`newest org schema: ${(await orgs.newestSchemaVersion()) ?? 'none'}`);
      for (const line of lines) {
        const where = line.cluster ? `${line.cluster}/${line.database}` : 'external';
        print(`${line.slug}\t${line.status}\tschema ${line.schemaVersion ?? '-'}\t${where}${line.error ? `\t${line.error}` : ''}`);
      }
      print(`${lines.length} organizations`);
      return true;
    }
    case 'upgrade': {
      const lines = await orgs.upgrade();
      for (const line of lines) {
        print(
          line.error
            ? `${line.slug}: FAILED: ${line.error}`
            : `${line.slug}: schema ${line.schemaVersion} (applied ${line.applied?.length ? line.applied.join(', ') : 'nothing'})`,
        );
      }
      const failed = lines.filter((line) => line.error).length;
      print(`${lines.length} org databases upgraded, ${failed} failed`);
      return failed === 0;
    }
    case 'backup': {
      const file = fromCallerDirectory(command.file);
      await backups.backup(command.slug, file);
      print(`backed up ${command.slug} to ${file}`);
      return true;
    }
    case 'restore': {
      const file = fromCallerDirectory(command.file);
      await backups.restore(command.slug, file);
      print(`restored ${command.slug} from ${file}`);
      return true;
    }
    case 'url': {
      const { instance } = await backups.readyOrg(command.slug);
      print(connection.ownerUrl(instance));
      return true;
    }
    case 'rotate-encryption-key': {
      const { counts, skipped } = await rotation.rotate();
      for (const line of counts) {
        print(
          `${line.scope}\t${line.kind}\treencrypted ${line.reencrypted}\talready current ${line.alreadyCurrent}\tunreadable ${line.unreadable}`,
        );
      }
      for (const skip of skipped) print(`${skip.slug}\tSKIPPED: ${skip.reason}`);
      const reencrypted = counts.reduce((sum, line) => sum + line.reencrypted, 0);
      const unreadable = counts.reduce((sum, line) => sum + line.unreadable, 0);
      print(`${reencrypted} values re-encrypted, ${unreadable} unreadable, ${skipped.length} org databases skipped`);
      return unreadable === 0 && skipped.length === 0;
    }
    case 'jwks': {
      print(JSON.stringify(sessions.jwks()));
      return true;
    }
  }
}

/** `npm run` runs scripts in the project root; a relative path means the folder the operator typed it in (INIT_CWD). */
function fromCallerDirectory(file: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

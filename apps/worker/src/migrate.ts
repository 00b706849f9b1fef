import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { RedisModule } from '#libs/redis';
import { OrgSchemaMigrator, RegistryModule } from '#libs/registry';
import { provideInfrastructure, runProcess } from '#libs/runtime';
import { LoggerModule, PinoNestLogger } from '#libs/logging';

// `npm run migrate`: the control plane (done by provideInfrastructure), then every READY org database.
await runProcess('migrate', async (context) => {
  const config = await provideInfrastructure(context);

  @Module({ imports: [ConfigModule.forRoot(config), LoggerModule.forRoot(context.logger), DatabaseModule, RedisModule, RegistryModule] })
  class MigrateModule {}

  const app = await NestFactory.createApplicationContext(MigrateModule, {
    logger: new PinoNestLogger(context.logger),
    abortOnError: false,
  });
  context.lifecycle.onStop('migrate', () => app.close());
  const outcomes = await app.get(OrgSchemaMigrator).migrateAllReady();
  for (const outcome of outcomes) {
    process.stdout.write(
      outcome.error
        ? `org ${outcome.orgId}: FAILED: ${outcome.error}\n`
        : `org ${outcome.orgId}: schema ${outcome.schemaVersion} (applied ${outcome.applied?.length ? outcome.applied.join(', ') : 'nothing'})\n`,
    );
  }
  const failed = outcomes.filter((outcome) => outcome.error).length;
  process.stdout.write(`${outcomes.length} org databases checked, ${failed} failed\n`);
  await context.lifecycle.stopAll(() => undefined);
  process.exit(failed ? 1 : 0);
});

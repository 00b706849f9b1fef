import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { SecretRepository } from './secret.repository.js';
import { SecretService } from './secret.service.js';

/** Org secrets: sealed values in the org database, given to the tasks that ask for them. */
@Module({ imports: [RegistryModule], providers: [SecretRepository, SecretService], exports: [SecretService] })
export class SecretsModule {}

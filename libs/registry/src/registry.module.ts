import { Module } from '@nestjs/common';
import { EventStreamModule } from '#libs/event-stream';
import { CredentialCipher } from './credential-cipher.js';
import { OrgClusters } from './org-clusters.js';
import { OrgConnection } from './org-connection.js';
import { OrgDatabase } from './org-database.js';
import { OrgDirectory } from './org-directory.js';
import { OrgInstanceJobs } from './org-instance-jobs.js';
import { OrgPoolCache } from './org-pool-cache.js';
import { OrgProvisioner } from './org-provisioner.js';
import { OrgRegistryRepository } from './org-registry.repository.js';
import { OrgStatusEvents } from './org-status-events.js';
import { OrgSchemaMigrator } from './org-schema.migrator.js';
import { OrgRelayStates } from './org-relay-states.js';
import { RelayCensus } from './relay-census.js';
import { RelayReport } from './relay-report.js';

/** The organization registry: instances, their provisioning, and the way requests reach org databases. */
@Module({
  imports: [EventStreamModule],
  providers: [
    CredentialCipher,
    OrgClusters,
    OrgConnection,
    OrgDatabase,
    OrgDirectory,
    OrgInstanceJobs,
    OrgPoolCache,
    OrgProvisioner,
    OrgRegistryRepository,
    OrgSchemaMigrator,
    OrgStatusEvents,
    OrgRelayStates,
    RelayCensus,
    RelayReport,
  ],
  exports: [
    CredentialCipher,
    OrgClusters,
    OrgConnection,
    OrgDatabase,
    OrgDirectory,
    OrgInstanceJobs,
    OrgPoolCache,
    OrgProvisioner,
    OrgRegistryRepository,
    OrgSchemaMigrator,
    OrgRelayStates,
    RelayCensus,
    RelayReport,
  ],
})
export class RegistryModule {}

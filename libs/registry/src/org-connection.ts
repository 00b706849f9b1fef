import { Injectable } from '@nestjs/common';
import { CredentialCipher } from './credential-cipher.js';
import type { InstanceCredentials, OrgInstance } from './org-instance.js';
import { OrgClusters } from './org-clusters.js';

/** Turns a registry instance into connection URLs, decrypting its credentials. */
@Injectable()
export class OrgConnection {
  constructor(
    private readonly cipher: CredentialCipher,
    private readonly clusters: OrgClusters,
  ) {}

  /** URL on which the org's own login role reaches its database (migrations, org queries). */
  ownerUrl(instance: OrgInstance): string {
    const credentials = this.cipher.decrypt<InstanceCredentials>(instance.credentialsEncrypted);
    if ('url' in credentials) return credentials.url;
    return this.clusters.databaseUrl(instance.cluster!, instance.databaseName!, {
      name: instance.loginRole!,
      password: credentials.password,
    });
  }

  /**
   * URL with the privileges to set the database up (publication, replication): the cluster
   * admin on the org database, or the given URL for an external instance.
   */
  adminUrl(instance: OrgInstance): string {
    if (instance.driver === 'external') return this.ownerUrl(instance);
    return this.clusters.databaseUrl(instance.cluster!, instance.databaseName!);
  }
}

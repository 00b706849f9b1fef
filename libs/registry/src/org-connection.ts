import { Injectable } from '@nestjs/common';
import { CredentialCipher } from './credential-cipher.js';
import type { InstanceCredentials, OrgInstance } from './org-instance.js';
import { OrgClusters } from './org-clusters.js';

/** Search path of the platform's own org connections: its tables (schema `platform`) first, then the org's (`public`). */
export const PLATFORM_SEARCH_PATH = 'platform,public';

/**
 * `url` with the platform's search path set at connection start (the `options` startup
 * parameter, which pg and libpq tools alike honour), so platform SQL names its tables
 * unqualified while a table an org user creates in `public` can never shadow one.
 */
export function withPlatformSearchPath(url: string): string {
  const parsed = new URL(url);
  const option = `-c search_path=${PLATFORM_SEARCH_PATH}`;
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  // Encoded by hand: URLSearchParams writes spaces as "+", which libpq does not read back as a space.
  const encoded = encodeURIComponent(existing ? `${existing} ${option}` : option);
  parsed.search = parsed.search ? `${parsed.search}&options=${encoded}` : `?options=${encoded}`;
  return parsed.toString();
}

/** Turns a registry instance into connection URLs, decrypting its credentials. */
@Injectable()
export class OrgConnection {
  constructor(
    private readonly cipher: CredentialCipher,
    private readonly clusters: OrgClusters,
  ) {}

  /** URL on which the org's own login role reaches its database (migrations, org queries), with the platform's search path. */
  ownerUrl(instance: OrgInstance): string {
    return withPlatformSearchPath(this.plainOwnerUrl(instance));
  }

  /** The org login role's URL with the server's default search path, as a person uses it: what they create lands in `public`. */
  plainOwnerUrl(instance: OrgInstance): string {
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
    return withPlatformSearchPath(this.clusters.databaseUrl(instance.cluster!, instance.databaseName!));
  }
}

import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';

export const DEFAULT_CLUSTER = 'default';

/** The Postgres clusters that host organization databases (ORG_CLUSTER_URLS, else DATABASE_URL as `default`). */
@Injectable()
export class OrgClusters {
  private readonly urls = new Map<string, string>();

  constructor(config: PlatformConfig) {
    if (config.ORG_CLUSTER_URLS) {
      for (const pair of config.ORG_CLUSTER_URLS.split(',')) {
        const at = pair.indexOf('=');
        this.urls.set(pair.slice(0, at), pair.slice(at + 1));
      }
    } else if (config.DATABASE_URL) {
      this.urls.set(DEFAULT_CLUSTER, config.DATABASE_URL);
    }
  }

  get names(): string[] {
    return [...this.urls.keys()];
  }

  /** Admin URL of cluster `name`; throws for a cluster no longer configured. */
  adminUrl(name: string): string {
    const url = this.urls.get(name);
    if (!url) throw new Error(`cluster "${name}" is not configured in ORG_CLUSTER_URLS`);
    return url;
  }

  /** URL of `database` on cluster `name`, logging in as `user`. */
  databaseUrl(name: string, database: string, user?: { name: string; password: string }): string {
    const url = new URL(this.adminUrl(name));
    url.pathname = `/${database}`;
    if (user) {
      url.username = encodeURIComponent(user.name);
      url.password = encodeURIComponent(user.password);
    }
    return url.toString();
  }
}

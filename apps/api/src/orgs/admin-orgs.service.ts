import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { OrgTokenService } from '#libs/auth';
import { ControlPlaneDatabase } from '#libs/database';
import {
  CredentialCipher,
  OrgClusters,
  OrgInstanceJobs,
  OrgRegistryRepository,
  publicInstanceView,
  publicOrgView,
  SlugTakenError,
  type OrgWithInstance,
} from '#libs/registry';
import type { CreateOrgDto } from './create-org.dto.js';

const ADMIN_ACTOR = 'platform-admin';
const PASSWORD_BYTES = 24;

const orgView = ({ org, instance }: OrgWithInstance) => ({ org: publicOrgView(org), instance: publicInstanceView(instance) });

/** The platform admin's use cases on organizations: create (and provision), list, inspect, retry, deprovision. */
@Injectable()
export class AdminOrgsService {
  constructor(
    private readonly database: ControlPlaneDatabase,
    private readonly registry: OrgRegistryRepository,
    private readonly clusters: OrgClusters,
    private readonly cipher: CredentialCipher,
    private readonly tokens: OrgTokenService,
    private readonly jobs: OrgInstanceJobs,
  ) {}

  /** Registers the org, its PENDING instance and first admin token in one transaction, then queues provisioning. */
  async create(input: CreateOrgDto) {
    const id = randomUUID();
    const driver = input.driver ?? 'cluster';
    const placement = driver === 'cluster' ? await this.placeOnCluster(input.slug, id) : undefined;
    const credentials = placement ? { password: randomBytes(PASSWORD_BYTES).toString('base64url') } : { url: input.url! };
    const created = await this.database
      .transaction(async (client) => {
        await this.registry.insert(client, {
          id,
          slug: input.slug,
          name: input.name,
          driver,
          cluster: placement?.cluster ?? null,
          databaseName: placement?.name ?? null,
          loginRole: placement?.name ?? null,
          credentialsEncrypted: this.cipher.encrypt(credentials),
          ...(input.realtime
            ? { supabase: { url: input.realtime.url, keyEncrypted: this.cipher.encrypt({ key: input.realtime.key }) } }
            : {}),
        });
        const first = await this.tokens.create(id, { name: 'initial admin token', role: 'admin' }, client);
        await this.registry.audit(
          { actor: ADMIN_ACTOR, action: 'org.created', orgId: id, details: { slug: input.slug, driver, cluster: placement?.cluster } },
          client,
        );
        return first;
      })
      .catch((error: unknown) => {
        if (error instanceof SlugTakenError) throw new ConflictException(error.message);
        throw error;
      });
    await this.registry.announce(id);
    // If this enqueue is lost (Redis down), the worker's start-up reconciliation queues it again.
    await this.jobs.enqueue(id, 'provision');
    const found = (await this.registry.findById(id))!;
    return { ...orgView(found), token: created.token };
  }

  async list() {
    return (await this.registry.list()).map(orgView);
  }

  async get(slug: string) {
    return orgView(await this.findLive(slug));
  }

  /** Puts a FAILED instance back to PENDING and queues its provisioning again. */
  async retry(slug: string) {
    const found = await this.findLive(slug);
    if (!(await this.registry.transition(found.org.id, ['FAILED'], 'PENDING', { lastError: null }))) {
      throw new ConflictException(`instance is ${found.instance.status}; only a FAILED one can be retried`);
    }
    await this.registry.audit({ actor: ADMIN_ACTOR, action: 'org.provisioning-retried', orgId: found.org.id });
    await this.jobs.enqueue(found.org.id, 'provision');
    return orgView((await this.registry.findById(found.org.id))!);
  }

  /** Moves the instance to DEPROVISIONING, ends the org's credentials and live sockets everywhere, and queues its teardown. */
  async deprovision(slug: string) {
    const found = await this.findLive(slug);
    const moved = await this.registry.transition(
      found.org.id,
      ['PENDING', 'PROVISIONING', 'READY', 'FAILED', 'DEPROVISIONING'],
      'DEPROVISIONING',
    );
    if (!moved) throw new NotFoundException(`no organization "${slug}"`);
    await this.tokens.orgDeprovisioned(found.org.id);
    await this.registry.audit({ actor: ADMIN_ACTOR, action: 'org.deprovision-requested', orgId: found.org.id });
    await this.jobs.enqueue(found.org.id, 'deprovision');
    return orgView((await this.registry.findById(found.org.id))!);
  }

  private async findLive(slug: string): Promise<OrgWithInstance> {
    const found = await this.registry.findBySlug(slug);
    if (!found) throw new NotFoundException(`no organization "${slug}"`);
    return found;
  }

  /** The cluster with the fewest live orgs, and the name (database and role alike) the org gets there. */
  private async placeOnCluster(slug: string, id: string): Promise<{ cluster: string; name: string }> {
    const load = await this.registry.countByCluster();
    const cluster = this.clusters.names.reduce((best, name) => ((load.get(name) ?? 0) < (load.get(best) ?? 0) ? name : best));
    return { cluster, name: `org_${slug.replace(/-/g, '_')}_${id.slice(0, 8)}` };
  }
}

import { BadRequestException, ConflictException, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { OrgTokenService } from '#libs/auth';
import { ControlPlaneDatabase } from '#libs/database';
import {
  CredentialCipher,
  OrgClusters,
  OrgInstanceJobs,
  OrgProvisioner,
  OrgRegistryRepository,
  OrgRelayStates,
  publicInstanceView,
  RelayCensus,
  type ClusterCensus,
  type RealtimeView,
  publicOrgView,
  SlugTakenError,
  UnknownTablesError,
  type OrgWithInstance,
} from '#libs/registry';
import type { CreateOrgDto } from './create-org.dto.js';

const ADMIN_ACTOR = 'platform-admin';
const PASSWORD_BYTES = 24;

const orgView = ({ org, instance }: OrgWithInstance, realtime?: RealtimeView) => ({
  org: publicOrgView(org),
  instance: publicInstanceView(instance, realtime),
});

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
    private readonly census: RelayCensus,
    private readonly relayStates: OrgRelayStates,
    private readonly provisioner: OrgProvisioner,
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
    // Read before the job is queued: the answer is the instance as queued, whatever a fast worker does next.
    const view = await this.withRealtime((await this.registry.findById(id))!);
    // If this enqueue is lost (Redis down), the worker's start-up reconciliation queues it again.
    await this.jobs.enqueue(id, 'provision');
    return { ...view, token: created.token };
  }

  async list() {
    const all = await this.registry.list();
    const realtime = await this.relayStates.views(all);
    return all.map((entry) => orgView(entry, realtime.get(entry.org.id)));
  }

  async get(slug: string) {
    return this.withRealtime(await this.findLive(slug));
  }

  /** What the org's realtime publication holds. */
  async publishedTables(slug: string) {
    return this.provisioner.publishedTables((await this.findReady(slug)).instance);
  }

  /** Sets what the org's realtime publication holds; its relay starts or stops at the next poll accordingly. */
  async publishTables(slug: string, tables: string[] | null) {
    const found = await this.findReady(slug);
    const published = await this.provisioner.publish(found.instance, tables).catch((error: unknown) => {
      if (error instanceof UnknownTablesError) throw new BadRequestException(error.message);
      throw error;
    });
    await this.registry.audit({ actor: ADMIN_ACTOR, action: 'org.realtime-published', orgId: found.org.id, details: { tables } });
    return published;
  }

  /** Puts a FAILED instance back to PENDING and queues its provisioning again. */
  async retry(slug: string) {
    const found = await this.findLive(slug);
    if (!(await this.registry.transition(found.org.id, ['FAILED'], 'PENDING', { lastError: null }))) {
      throw new ConflictException(`instance is ${found.instance.status}; only a FAILED one can be retried`);
    }
    await this.registry.audit({ actor: ADMIN_ACTOR, action: 'org.provisioning-retried', orgId: found.org.id });
    const view = await this.withRealtime((await this.registry.findById(found.org.id))!);
    await this.jobs.enqueue(found.org.id, 'provision');
    return view;
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
    const view = await this.withRealtime((await this.registry.findById(found.org.id))!);
    await this.jobs.enqueue(found.org.id, 'deprovision');
    return view;
  }

  private async findReady(slug: string): Promise<OrgWithInstance> {
    const found = await this.findLive(slug);
    if (found.instance.status !== 'READY')
      throw new ConflictException(`instance is ${found.instance.status}; its tables can be published once READY`);
    return found;
  }

  private async findLive(slug: string): Promise<OrgWithInstance> {
    const found = await this.registry.findBySlug(slug);
    if (!found) throw new NotFoundException(`no organization "${slug}"`);
    return found;
  }

  private async withRealtime(found: OrgWithInstance) {
    return orgView(found, (await this.relayStates.views([found])).get(found.org.id));
  }

  /**
   * The cluster with the most free relay capacity (replication slots and WAL senders the
   * server has left, read from it), the fewest live orgs among equals, and the name
   * (database and role alike) the org gets there. With no capacity left on any reachable
   * cluster the admin is told so, rather than given an org whose realtime could never run.
   */
  private async placeOnCluster(slug: string, id: string): Promise<{ cluster: string; name: string }> {
    // Fresh, not a census another reader had a moment ago: a slot taken since counts.
    const [load, census] = await Promise.all([this.registry.countByCluster(), this.census.readAll(true)]);
    const reachable = [...census.values()].filter((entry): entry is ClusterCensus => !(entry instanceof Error));
    const orgs = (name: string) => load.get(name) ?? 0;
    let cluster: string;
    if (reachable.length === 0) {
      // None answers now: place by org count; provisioning then fails (and says why) or succeeds once it is back.
      cluster = this.clusters.names.reduce((best, name) => (orgs(name) < orgs(best) ? name : best));
    } else {
      const best = reachable.reduce((a, b) => (b.free > a.free || (b.free === a.free && orgs(b.cluster) < orgs(a.cluster)) ? b : a));
      if (best.free <= 0) {
        throw new ServiceUnavailableException(
          `no org cluster has relay capacity left (${reachable
            .map((entry) => `${entry.cluster}: ${entry.slots.length} replication slots in use of ${entry.capacity}`)
            .join('; ')}); raise max_replication_slots and max_wal_senders, or add a cluster to ORG_CLUSTER_URLS`,
        );
      }
      cluster = best.cluster;
    }
    return { cluster, name: `org_${slug.replace(/-/g, '_')}_${id.slice(0, 8)}` };
  }
}

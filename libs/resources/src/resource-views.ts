export const ENVIRONMENT_STATUSES = ['free', 'allocated', 'retired'] as const;
export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];

export const ALLOCATION_STATUSES = ['active', 'released', 'expired'] as const;
export type AllocationStatus = (typeof ALLOCATION_STATUSES)[number];

/** A pool of environments, with how many of them are in each status. */
export interface PoolView {
  id: string;
  name: string;
  kind: string;
  createdAt: string;
  counts: Record<EnvironmentStatus, number>;
}

/** One leasable resource of a pool; `allocationId` is set while it is allocated. */
export interface EnvironmentView {
  id: string;
  poolId: string;
  name: string;
  attributes: Record<string, unknown>;
  status: EnvironmentStatus;
  allocationId?: string;
  createdAt: string;
  updatedAt: string;
}

/** A lease of one environment by a holder until `expiresAt`, unless extended or released first. */
export interface AllocationView {
  id: string;
  poolId: string;
  environmentId: string;
  holder: string;
  status: AllocationStatus;
  createdAt: string;
  expiresAt: string;
  endedAt?: string;
}

/** An allocation as the API answers it: with the environment it holds. */
export interface LeaseView extends AllocationView {
  environment: EnvironmentView;
}

/** A pool as stored (without counts). */
export type StoredPool = Omit<PoolView, 'counts'>;

/** One change of the resource state, as the write-behind stream carries it to Postgres. */
export type ResourceChange = { rev: number; at: string } & (
  | { kind: 'pool'; action: 'changed'; data: StoredPool }
  | { kind: 'environment'; action: 'changed'; data: EnvironmentView }
  | { kind: 'allocation'; action: 'allocated' | 'extended' | 'released' | 'expired'; data: AllocationView }
);

/** What the org database holds of the resource tier, to rebuild Redis from. */
export interface ResourceSnapshot {
  pools: StoredPool[];
  /** Every environment, least recently changed first (the order free ones are handed out). */
  environments: EnvironmentView[];
  /** Allocations still active, with their expiry. */
  allocations: AllocationView[];
  /** The highest change number written, so new changes continue after it. */
  rev: number;
}

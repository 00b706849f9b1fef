import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { serveBenchRequests } from './bench-children.js';

/**
 * The WAL baseline: a bare pgoutput reader of one slot and publication in a process of its
 * own, timing each inserted row from its commit to its decoding here. Requests: `start`
 * ({ url, slot, publication }), `collect` (latencies in ms since the last collect).
 */
let latencies: number[] = [];
let commitMs = 0;
let service: LogicalReplicationService | undefined;

serveBenchRequests(async (message) => {
  switch (message.kind) {
    case 'start': {
      const { url, slot, publication } = message as unknown as { url: string; slot: string; publication: string };
      service = new LogicalReplicationService({ connectionString: url }, { acknowledge: { auto: true, timeoutSeconds: 0 } });
      service.on('data', (_lsn: string, change: Pgoutput.Message) => {
        if (change.tag === 'begin') commitMs = Number((change.commitTime as bigint) / 1000n);
        else if (change.tag === 'insert') latencies.push(Date.now() - commitMs);
      });
      const started = new Promise<void>((resolve) => service!.once('start', () => resolve()));
      void service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }), slot).catch(() => undefined);
      await started;
      return {};
    }
    case 'collect': {
      const collected = latencies;
      latencies = [];
      return collected;
    }
    case 'stop':
      await service?.stop();
      return {};
    default:
      throw new Error(`unknown request ${message.kind}`);
  }
});

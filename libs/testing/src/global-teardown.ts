import { rm } from 'node:fs/promises';

/** Stops what the global setup started and removes its scratch folder. */
export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { platformTestServers?: { stops: (() => Promise<void>)[]; scratch: string } }).platformTestServers;
  if (!servers) return;
  for (const stop of servers.stops.reverse()) await stop();
  await rm(servers.scratch, { recursive: true, force: true });
}

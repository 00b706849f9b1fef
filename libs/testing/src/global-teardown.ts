import type { ScratchServers } from './scratch-servers.js';

/** Stops what the global setup started and removes its scratch folder. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { platformTestServers?: ScratchServers }).platformTestServers?.stop();
}

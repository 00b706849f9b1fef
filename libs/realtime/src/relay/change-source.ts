/** One org's feed of committed row changes into its event stream, run by the process holding the org's relay lease. */
export interface ChangeSource {
  /** Starts relaying; resolves once the feed is live (or rejects if it cannot start). */
  start(): Promise<void>;
  /** Stops relaying and closes its connections. */
  stop(): Promise<void>;
}

/** Told when a running source stops on its own (connection lost, lease lost, slot dropped). */
export type SourceFailed = (error: Error) => void;

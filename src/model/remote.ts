import type { Channel, SyncFilter, SyncMode } from './sync.js';

/** Options of `sync.add`. */
export interface RemoteOptions {
  readonly name: string;
  readonly channel: Channel;
  /** Default: the persisted mode of this remote, else `ping-pong`. */
  readonly mode?: SyncMode;
  readonly filter?: SyncFilter;
  /** Pull interval (ms); default 1000. */
  readonly pullIntervalMs?: number;
  /** How long push waits for more writes before sending (ms); default 5. */
  readonly debounceMs?: number;
  /** Ops per push batch and pull page; default 2000 (the endpoint accepts up to 5000). */
  readonly batchSize?: number;
}

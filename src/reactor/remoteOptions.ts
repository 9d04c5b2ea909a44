import { ReactorError } from '../model/errors.js';
import type { RemoteOptions } from '../model/remote.js';
import type { RemoteRow } from '../model/rows.js';
import { type Channel, parseSyncFilter, SYNC_MODES, type SyncFilter } from '../model/sync.js';
import { assertId, describe } from '../model/validate.js';

export type { RemoteOptions } from '../model/remote.js';

/** The largest push batch or pull page an endpoint accepts. */
export const MAX_BATCH = 5000;

/**
 * Checks `sync.add`'s options and fills what is not given from the remote's persisted settings,
 * then from the defaults. Every problem is a `validation` error naming the option.
 */
export function toRemoteRow(options: RemoteOptions, persisted: RemoteRow | undefined): RemoteRow {
  if (typeof options !== 'object' || options === null) {
    throw new ReactorError('validation', 'sync.add expects { name, channel, mode?, filter?, pullIntervalMs? }');
  }
  assertId(options.name, 'sync.add: "name"');
  const channel = options.channel as Partial<Channel> | undefined;
  if (
    typeof channel?.push !== 'function' ||
    typeof channel.pull !== 'function' ||
    typeof channel.close !== 'function'
  ) {
    throw new ReactorError(
      'validation',
      `sync.add("${options.name}"): "channel" must have push, pull and close functions, got ${describe(options.channel)}`,
    );
  }
  const mode = options.mode ?? persisted?.mode ?? 'ping-pong';
  if (!SYNC_MODES.includes(mode)) {
    throw new ReactorError(
      'validation',
      `sync.add("${options.name}"): "mode" must be one of ${SYNC_MODES.join(', ')}, got ${describe(mode)}`,
    );
  }
  let filter: SyncFilter | undefined;
  try {
    filter =
      options.filter === undefined ? persisted?.filter : parseSyncFilter(options.filter, `sync.add("${options.name}")`);
  } catch (error) {
    throw new ReactorError('validation', (error as Error).message);
  }
  const number = (value: number | undefined, fallback: number, what: string, min: number, max = Infinity) => {
    const n = value ?? fallback;
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new ReactorError(
        'validation',
        `sync.add("${options.name}"): "${what}" must be a number from ${min}${max === Infinity ? '' : ` to ${max}`}, got ${describe(value)}`,
      );
    }
    return n;
  };
  const row: RemoteRow = {
    name: options.name,
    mode,
    ...(filter === undefined ? {} : { filter }),
    pullIntervalMs: number(options.pullIntervalMs, persisted?.pullIntervalMs ?? 1000, 'pullIntervalMs', 1),
    debounceMs: number(options.debounceMs, persisted?.debounceMs ?? 5, 'debounceMs', 0),
    batchSize: number(options.batchSize, persisted?.batchSize ?? 2000, 'batchSize', 1, MAX_BATCH),
  };
  return row;
}

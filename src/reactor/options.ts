import type { RetryPolicy } from '../machines/jobRun.js';
import type { Clock } from '../model/clock.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { ReactorError } from '../model/errors.js';
import { assertId, describe } from '../model/validate.js';
import { systemClock } from '../platform/clock.js';
import type { StorageOptions } from '../storage/schema.js';
import { createIdGenerator } from './ids.js';
import type { ReactorOptions } from './types.js';

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ReactorError('validation', `createReactor: "${name}" must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

function checkModels(models: unknown): Map<string, AnyDocumentModel> {
  if (!Array.isArray(models)) {
    throw new ReactorError('validation', 'createReactor: "models" must be an array of models from defineDocumentModel');
  }
  const byType = new Map<string, AnyDocumentModel>();
  for (const model of models as AnyDocumentModel[]) {
    if (
      typeof model?.type !== 'string' ||
      typeof model.initialState !== 'function' ||
      typeof model.reducers !== 'object'
    ) {
      throw new ReactorError(
        'validation',
        `createReactor: ${describe(model)} is not a document model; build models with defineDocumentModel`,
      );
    }
    if (byType.has(model.type))
      throw new ReactorError('validation', `createReactor: two models have the type "${model.type}"`);
    byType.set(model.type, model);
  }
  return byType;
}

const BACKEND_METHODS = [
  'readBoot',
  'readSync',
  'findOperations',
  'streamTail',
  'readStream',
  'readSince',
  'readKeyframes',
  'findWrites',
  'claimEpoch',
  'commit',
  'close',
] as const;

function checkBackend(backend: unknown): void {
  const missing = BACKEND_METHODS.filter(
    (method) => typeof (backend as Record<string, unknown> | null)?.[method] !== 'function',
  );
  if (missing.length > 0 || typeof (backend as { name?: unknown }).name !== 'string') {
    throw new ReactorError(
      'validation',
      `createReactor: "storage.backend" must be a StorageBackend (e.g. createSqliteStorage({ path }) from xstate-reactor/sqlite), got ${describe(backend)}${missing.length > 0 ? ` lacking ${missing.join(', ')}` : ' without a "name"'}`,
    );
  }
}

/** `createReactor`'s options, checked and with defaults filled in. */
export interface ResolvedOptions {
  readonly models: ReadonlyMap<string, AnyDocumentModel>;
  readonly id: string | undefined;
  readonly concurrency: number;
  readonly maxBatch: number;
  readonly maxGroupSize: number;
  readonly keyframeInterval: number;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  readonly storage: StorageOptions;
  readonly newId: (length?: number) => string;
  /** Draws a seed for a machine's PRNG. */
  readonly seed: () => number;
  /** Keep documents of unknown models (see `ReactorOptions.relay`). */
  readonly relay: boolean;
  /** How far ahead of this clock a received op may be stamped (ms). */
  readonly maxClockDrift: number;
  /** Accept `local`-scope ops pushed to the endpoint. */
  readonly receiveLocal: boolean;
  /** The inspection observer, if any. */
  readonly inspect: ReactorOptions['inspect'];
}

/** The default `maxClockDrift`: a day. */
export const DEFAULT_MAX_CLOCK_DRIFT = 24 * 60 * 60 * 1000;
/** The largest `maxClockDrift` accepted: ten years. */
const MAX_CLOCK_DRIFT = 10 * 365 * DEFAULT_MAX_CLOCK_DRIFT;

/** Checks `createReactor`'s options; every problem is a `validation` error naming the option. */
export function resolveOptions(options: ReactorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ReactorError('validation', 'createReactor expects an options object with at least { models }');
  }
  const models = checkModels(options.models);
  if (options.id !== undefined) assertId(options.id, 'createReactor: "id"');
  const storage = options.storage ?? {};
  if (storage.backend !== undefined) {
    checkBackend(storage.backend);
  } else if (storage.indexedDB === undefined && typeof globalThis.indexedDB === 'undefined') {
    throw new ReactorError(
      'validation',
      'createReactor: no IndexedDB here; pass storage: { dbName, indexedDB, IDBKeyRange } (in Node, from fake-indexeddb) or storage: { backend } (e.g. createSqliteStorage from xstate-reactor/sqlite)',
    );
  }
  const random = options.random ?? Math.random;
  for (const name of ['relay', 'receiveLocal'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new ReactorError(
        'validation',
        `createReactor: "${name}" must be a boolean, got ${describe(options[name])}`,
      );
    }
  }
  const drift = options.maxClockDrift;
  if (drift !== undefined && (!Number.isInteger(drift) || drift < 1 || drift > MAX_CLOCK_DRIFT)) {
    throw new ReactorError(
      'validation',
      `createReactor: "maxClockDrift" must be a whole number of milliseconds from 1 to ${MAX_CLOCK_DRIFT} (ten years), got ${describe(drift)}`,
    );
  }
  return {
    models,
    id: options.id,
    concurrency: positive(options.concurrency, 64, 'concurrency'),
    maxBatch: positive(options.maxBatch, 2048, 'maxBatch'),
    maxGroupSize: positive(options.maxGroupSize, 2000, 'maxGroupSize'),
    keyframeInterval: positive(options.keyframeInterval, 500, 'keyframeInterval'),
    retry: { maxAttempts: 5, baseMs: 20, maxMs: 2000, ...options.retry },
    clock: options.clock ?? systemClock,
    storage,
    newId: createIdGenerator(options.random),
    seed: () => Math.floor(random() * 2 ** 31),
    relay: options.relay === true,
    maxClockDrift: drift ?? DEFAULT_MAX_CLOCK_DRIFT,
    receiveLocal: options.receiveLocal === true,
    inspect: options.inspect,
  };
}

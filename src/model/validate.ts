import { ReactorError } from './errors.js';

/**
 * Checks that `value` survives structured cloning (what IndexedDB and every channel need), so bad
 * input is refused before anything is written.
 */
export function assertCloneable(value: unknown, where: string): void {
  cloneChecked(value, where);
}

const NOT_PLAIN = Symbol('not plain');

/**
 * Copies plain data (objects with the default prototype, arrays, primitives) by hand: for the
 * small inputs of actions this is several times cheaper than `structuredClone`. Returns NOT_PLAIN
 * for anything else (dates, maps, class instances, functions, deep or cyclic values).
 */
function clonePlain(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? NOT_PLAIN : value;
  }
  if (depth > 64) return NOT_PLAIN;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_PLAIN;
      const item = clonePlain(value[i], depth + 1);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy[i] = item;
    }
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = clonePlain((value as Record<string, unknown>)[key], depth + 1);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = item;
  }
  return copy;
}

/** A structured clone of `value` (so later changes by the caller cannot reach the log), or a clear error. */
export function cloneChecked<T>(value: T, where: string | (() => string)): T {
  const plain = clonePlain(value, 0);
  if (plain !== NOT_PLAIN) return plain as T;
  try {
    return structuredClone(value);
  } catch (error) {
    throw new ReactorError(
      'validation',
      `${typeof where === 'string' ? where : where()} cannot be stored: it must be structured-cloneable (plain objects, arrays, strings, numbers, booleans, null, Date, Map, Set), but cloning failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

/** Checks a caller-supplied id: a non-empty string of at most 256 characters. */
export function assertId(value: unknown, where: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new ReactorError(
      'validation',
      `${where} must be a non-empty string of at most 256 characters, got ${describe(value)}`,
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return value === null ? 'null' : 'an object';
  return String(value);
}

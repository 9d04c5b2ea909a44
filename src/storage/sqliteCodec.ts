import { deserialize, serialize } from 'node:v8';

/**
 * How the SQLite backend turns rows and keys into column values, exactly.
 *
 * Rows are stored whole, as JSON text when JSON keeps them exactly (plain objects and arrays,
 * strings, finite numbers, booleans, null: the common case, readable with SQLite's JSON
 * functions) and otherwise as a V8 structured-clone blob (`node:v8` `serialize`, the algorithm
 * IndexedDB uses, in a format Node documents as safe to store). So every value the Dexie backend
 * keeps (`undefined`, `NaN`, `-0`, `Date`, `Map`, `Set`, `BigInt`, typed arrays, sparse arrays)
 * comes back equal, and what IndexedDB refuses (functions, symbols) is refused too.
 *
 * String keys are stored as UTF-16BE blobs: SQLite compares blobs byte by byte, which is then
 * JavaScript's (and IndexedDB's) code-unit order, so canonical order `(timestamp, id)` is the same
 * on every backend; and a string with a lone surrogate, which UTF-8 text cannot hold, is kept too.
 * @internal
 */

/** A column value of an encoded row. */
export type Encoded = string | Uint8Array;

/** Encodes a row: JSON when that is exact, a structured clone otherwise. */
export function encodeValue(value: unknown): Encoded {
  if (jsonExact(value, 0)) return JSON.stringify(value);
  try {
    return serialize(value);
  } catch (error) {
    // Named like IndexedDB's error, so `classifyError` treats it alike (permanent).
    throw new DOMException(
      `a value cannot be stored: ${error instanceof Error ? error.message : String(error)}`,
      'DataCloneError',
    );
  }
}

/** Decodes a column written by {@link encodeValue}. */
export function decodeValue<T>(column: unknown): T {
  return (typeof column === 'string' ? JSON.parse(column) : deserialize(column as Uint8Array)) as T;
}

/** A string key as a blob that sorts like the string does in JavaScript. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf16le').swap16();
}

/** Whether `JSON.parse(JSON.stringify(value))` gives back an equal value. */
function jsonExact(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > 100) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonExact(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) return false;
        if (!jsonExact((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

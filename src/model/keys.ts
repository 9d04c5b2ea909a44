/**
 * Records keyed by names that a user or a peer chose (document ids, lanes, action types). A plain
 * `{}` answers `constructor`, `toString` or `__proto__` from its prototype, and assigning to
 * `__proto__` replaces the prototype instead of storing a value. These records have no prototype,
 * so every key is an ordinary key; reads still check own properties, so a record that came from
 * elsewhere (a spread, a parse) is safe too.
 */

/** A record of `T` by arbitrary string keys. */
export type KeyedRecord<T> = Record<string, T>;

/** An empty record without a prototype. */
export function emptyRecord<T>(): KeyedRecord<T> {
  return Object.create(null) as KeyedRecord<T>;
}

/** A prototype-less copy of `record` (own enumerable keys only). */
export function copyRecord<T>(record: Readonly<KeyedRecord<T>>): KeyedRecord<T> {
  const copy = emptyRecord<T>();
  for (const key of Object.keys(record)) copy[key] = record[key] as T;
  return copy;
}

/** The value stored under `key`, never one inherited from a prototype. */
export function own<T>(record: Readonly<KeyedRecord<T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

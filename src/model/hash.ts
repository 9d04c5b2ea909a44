/**
 * Stable state hashing: a canonical JSON form (object keys sorted, `undefined` members dropped)
 * hashed to 64 bits. Equal states give the same hash on every reactor and every run.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : `"#${String(value)}"`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `"#${value.toString()}n"`;
    case 'undefined':
      return 'null';
    case 'object':
      return writeObject(value);
    default:
      return `"#${typeof value}"`;
  }
}

function writeObject(value: object): string {
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  if (value instanceof Date) {
    // An invalid Date is structured-cloneable, so a reducer may return one; toISOString would throw.
    return Number.isNaN(value.getTime()) ? '{"#date":null}' : `{"#date":${JSON.stringify(value.toISOString())}}`;
  }
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => `[${write(k)},${write(v)}]`).sort();
    return `{"#map":[${entries.join(',')}]}`;
  }
  if (value instanceof Set) {
    const items = [...value].map(write).sort();
    return `{"#set":[${items.join(',')}]}`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${write(member)}`);
  }
  return `{${parts.join(',')}}`;
}

/** 64-bit non-cryptographic hash of a string, as 16 hex digits. */
export function hashString(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

/** The stable hash of a document state. */
export function hashState(state: unknown): string {
  return hashString(canonicalJson(state));
}

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
      // What JSON.stringify writes for a finite number (and "0" for -0).
      return Number.isFinite(value) ? String(value) : `"#${String(value)}"`;
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

/** Whether keys are in order already (they usually are: inputs are kept with sorted keys). */
function sorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

function writeObject(value: object): string {
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + write(value[i]);
    return `${text}]`;
  }
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
  const keys = Object.keys(record);
  if (!sorted(keys)) keys.sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    text += `${first ? '' : ','}${JSON.stringify(key)}:${write(member)}`;
    first = false;
  }
  return `${text}}`;
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

import { ReactorError } from './errors.js';

/**
 * The two kinds of value a reactor keeps: action **inputs**, which cross every transport and so
 * must be JSON data, and document **states**, which stay on the reactor but are frozen so that no
 * reducer can change a state it was given.
 */

/** How deep an input or a state may nest. Deeper values are refused (and cycles are infinitely deep). */
export const MAX_DEPTH = 100;

// A frozen object or array is taken as sealed (checked and frozen before): walks stop there, so
// sealing a new state costs what the reducer built, not the whole state. (A WeakSet of sealed
// values would also know objects an app froze itself, but costs ten times more per value and
// burdens the garbage collector; an app that freezes its own values inside a state is trusted.)
const isSealed = (value: object): boolean => Object.isFrozen(value);

type Path = (string | number)[];

function pathText(root: string, path: Path): string {
  let text = root;
  for (const part of path) {
    text +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`;
  }
  return text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Infinity' : '-Infinity';
  }
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return 'a sparse array';
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype';
}

class Refusal {
  constructor(
    readonly path: Path,
    readonly what: string,
  ) {}
}

/** A field of a record, as a property even when the key is `__proto__`. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function normalise(value: unknown, path: Path, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(path, kindOf(value));
      // JSON has no negative zero: it would arrive as 0.
      return value === 0 ? 0 : value;
    case 'object':
      break;
    default:
      throw new Refusal(path, kindOf(value));
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw new Refusal(path, `a value nested deeper than ${MAX_DEPTH} levels (or a cycle)`);
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new Refusal([...path, i], 'a hole in a sparse array');
      const item = value[i];
      if (item === undefined) throw new Refusal([...path, i], 'undefined (JSON arrays cannot hold it)');
      path.push(i);
      copy[i] = normalise(item, path, depth + 1);
      path.pop();
    }
    return Object.freeze(copy);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new Refusal(path, kindOf(value));
  const record = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  // Sorted keys: every reactor holds the same input in the same key order, whatever order the
  // sender's object (or a hostile peer) used.
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    // JSON drops undefined members; dropping them here makes every path agree.
    if (item === undefined) continue;
    path.push(key);
    define(copy, key, normalise(item, path, depth + 1));
    path.pop();
  }
  return Object.freeze(copy);
}

/**
 * An action input as the reactor keeps it: a frozen copy holding JSON data only (plain objects,
 * arrays, strings, finite numbers, booleans, null), with object keys sorted, `undefined` members
 * dropped and `-0` as `0`, so that every transport and every storage carries it unchanged and every
 * reactor holds the same value. Anything else (a Date, Map, Set, NaN, Infinity, BigInt, function,
 * class instance, sparse array, a cycle) is a `validation` error naming the value and its path.
 * `undefined` itself (no input) stays `undefined`.
 */
export function toJsonData(value: unknown, where: string | (() => string), root = 'input'): unknown {
  const result = normaliseJsonData(value, root);
  if (result.ok) return result.value;
  throw new ReactorError('validation', `${typeof where === 'string' ? where : where()}: ${result.reason}`);
}

/**
 * What {@link toJsonData} does, as a result instead of a throw: the normal form, or why the value
 * is not JSON data (`input.due is a Date; inputs must be JSON data …`).
 */
export function normaliseJsonData(
  value: unknown,
  root = 'input',
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string } {
  if (value === undefined) return { ok: true, value: undefined };
  try {
    return { ok: true, value: normalise(value, [], 0) };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return {
      ok: false,
      reason: `${pathText(root, error.path)} is ${error.what}; inputs must be JSON data (plain objects, arrays, strings, finite numbers, booleans, null) so that every transport carries them unchanged`,
    };
  }
}

/** A refusal found `depth` levels down; the path is filled in on the way back up. */
function refuse(what: string): never {
  throw new Refusal([], what);
}

/** Whether an object is a plain object or an array (what a state may hold). */
function plain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks and freezes `value`, skipping what is sealed already. `previous` is the state it
 * replaces: a child that is the same object as the previous state's child at the same place is
 * sealed already, which one comparison tells (a reducer that appends to a list of a thousand
 * items leaves 999 of them in place).
 */
function seal(value: unknown, previous: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') refuse(kindOf(value));
    return;
  }
  if (isSealed(value)) {
    // Frozen by someone else (Object.freeze(new Date())) is still not plain.
    if (!plain(value)) refuse(kindOf(value));
    return;
  }
  // Nothing is frozen before its children are, so a cycle walks on until it is too deep.
  if (depth >= MAX_DEPTH) refuse(`a value nested deeper than ${MAX_DEPTH} levels (or a cycle)`);
  if (typeof (value as { then?: unknown }).then === 'function') refuse('a Promise');
  const before = typeof previous === 'object' && previous !== null && isSealed(previous) ? previous : undefined;
  if (Array.isArray(value)) {
    const prior = Array.isArray(before) ? before : undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (prior !== undefined && i < prior.length && prior[i] === item) continue;
      try {
        seal(item, prior?.[i], depth + 1);
      } catch (error) {
        if (error instanceof Refusal) error.path.unshift(i);
        throw error;
      }
    }
  } else {
    if (!plain(value)) refuse(kindOf(value));
    const record = value as Record<string, unknown>;
    const prior = before !== undefined && !Array.isArray(before) ? (before as Record<string, unknown>) : undefined;
    for (const key of Object.keys(record)) {
      const item = record[key];
      const was = prior !== undefined && Object.hasOwn(prior, key) ? prior[key] : undefined;
      if (was !== undefined && was === item) continue;
      try {
        seal(item, was, depth + 1);
      } catch (error) {
        if (error instanceof Refusal) error.path.unshift(key);
        throw error;
      }
    }
  }
  Object.freeze(value);
}

/**
 * Checks that a reducer's result is a state the reactor can keep, and freezes it (deeply) so no
 * later reducer can change it in place. A state is plain data: plain objects, arrays, strings,
 * numbers, booleans, null and undefined (no Date, Map, Set or class instances, which freezing
 * cannot protect and storage does not keep alike). Returns why a value is refused, or undefined.
 * `previous` (the state it replaces) only makes the check cheaper.
 */
export function sealState(value: unknown, previous?: unknown): string | undefined {
  if (value === undefined) return 'the reducer returned undefined; a reducer must return the next state';
  if (typeof value === 'function' || typeof value === 'symbol') {
    return `the reducer returned a state that is ${kindOf(value)}; states must be plain data (objects, arrays, strings, numbers, booleans, null)`;
  }
  try {
    seal(value, previous, 0);
    return undefined;
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const at = error.path.length === 0 ? 'the state' : pathText('state', error.path);
    return `the reducer returned a state whose ${at} is ${error.what}; states must be plain data (objects, arrays, strings, numbers, booleans, null)`;
  }
}

/**
 * Freezes the plain objects and arrays inside a value (an op's input read back from storage), so
 * a reducer cannot change it; other objects are left as they are.
 */
export function freezeData(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) freezeData((value as Record<string, unknown>)[key]);
}

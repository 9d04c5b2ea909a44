import * as v from 'valibot';
import { ReactorError } from './errors.js';
import { describe } from './validate.js';

/**
 * The validator's vocabulary (valibot) as this library uses it, and the one place where a failed
 * parse becomes a message. Schemas of values that cross a transport (`wire.ts`) say in their
 * messages what a field must be (`must be a non-negative integer`) or, for a value as a whole,
 * what was expected (`expected an object`); raw checks write a whole sentence. The formatter
 * adds where the value was, which field, and what came instead:
 *
 * - `push request: "cursor" must be a non-negative integer, got -1` (a field),
 * - `pull request filter: expected an object, got "all"` (a value that is not an object),
 * - `push request: operation 1: input.by is NaN; …` (a check that writes its own sentence).
 */

/** Any valibot schema. */
export type Schema = v.GenericSchema;

/** What a schema's parse yields. */
export type Output<S extends Schema> = v.InferOutput<S>;

/** What a schema's parse yields, read-only all the way down (values from outside are not ours to change). */
export type Infer<S extends Schema> = Frozen<v.InferOutput<S>>;

/** `T` with every member and array read-only. */
export type Frozen<T> = T extends readonly (infer Item)[]
  ? readonly Frozen<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

/** A plain record: an object that is not an array (class instances and null prototypes included). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An object with these fields, read in their order. A value that is not an object (an array is
 * not one) fails with `expected`; a missing field fails as its own schema fails `undefined`, so
 * its message is the same either way. Fields not named are left out.
 */
export function record<const Entries extends v.ObjectEntries>(entries: Entries, expected = 'expected an object') {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, expected), fields(entries));
}

/**
 * A {@link record} that reads only the value's own members: a prototype's cannot stand in for a
 * missing field (what a peer sends is plain data; what a caller hands in might not be).
 */
export function ownRecord<const Entries extends v.ObjectEntries>(entries: Entries, expected = 'expected an object') {
  const keys = Object.keys(entries);
  return v.pipe(
    v.custom<Record<string, unknown>>(isRecord, expected),
    v.transform((value: Record<string, unknown>) => ownMembers(value, keys)),
    fields(entries),
  );
}

/**
 * The fields of an object known to be one (a frame, once its text is read): like {@link record}
 * without the first check, so a union of them can pick a member by a field (`v.variant`).
 */
export function fields<const Entries extends v.ObjectEntries>(entries: Entries) {
  return v.object(entries, (issue: v.ObjectIssue) => missingField(entries, issue));
}

/** The message for a missing field: the one its schema gives `undefined`. */
function missingField(entries: v.ObjectEntries, issue: v.ObjectIssue): string {
  const key = issue.path?.at(-1)?.key;
  const schema = typeof key === 'string' && Object.hasOwn(entries, key) ? entries[key] : undefined;
  return schema?.['~run']({ value: undefined }, { abortEarly: true }).issues?.[0].message ?? 'is missing';
}

/** `value` when its members are all its own (a plain object), else a copy of the own ones named. */
function ownMembers(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return value;
  const own: Record<string, unknown> = Object.create(null);
  for (const key of keys) if (Object.hasOwn(value, key)) own[key] = value[key];
  return own;
}

/** A string schema: non-empty (unless `min` is 0) and at most `max` characters, with one message. */
export function text(max = Number.POSITIVE_INFINITY, min = 1) {
  const most = Number.isFinite(max) ? ` of at most ${max} characters` : '';
  const message = min > 0 ? `must be a non-empty string${most}` : `must be a string${most}`;
  return v.custom<string>((value) => typeof value === 'string' && value.length >= min && value.length <= max, message);
}

/** An integer from `min` to `max` (inclusive), with one message. */
export function integer(message: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return v.custom<number>(
    (value) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
    message,
  );
}

/** An array whose items all pass `item` (checked as one value, so the message names the array). */
export function listOf<T>(item: (value: unknown) => value is T, message: string) {
  return v.custom<readonly T[]>((value) => Array.isArray(value) && value.every(item), message);
}

type Key = string | number;

const keysOf = (issue: v.BaseIssue<unknown>): Key[] => (issue.path ?? []).map((item) => item.key as Key);

/** A path as `filter.documentIds` or `rejected[0].reason` (`steps.0.write` with `dotted` indices). */
function pathText(keys: readonly Key[], dotted = false): string {
  let text = '';
  for (const key of keys) {
    text += typeof key === 'number' && !dotted ? `[${key}]` : text === '' ? String(key) : `.${key}`;
  }
  return text;
}

/**
 * The message of the first issue of a parse, `where` first (`push request`, `pull response:
 * operation 3`). `base` is the path of the parsed value inside what `where` names (`filter`).
 */
export function issueMessage(issue: v.BaseIssue<unknown>, where: string, base: readonly Key[] = []): string {
  // Raw checks and transforms write a whole sentence, naming the path themselves.
  if (issue.type === 'raw_check' || issue.type === 'raw_transform') return `${where}: ${issue.message}`;
  const path = pathText([...base, ...keysOf(issue)]);
  const got = `got ${describe(issue.input)}`;
  // "expected an object" is about the value as a whole: said after the path, not of a field.
  if (path === '' || issue.message.startsWith('expected ')) {
    return `${where}${path === '' ? '' : ` ${path}`}: ${issue.message}, ${got}`;
  }
  return `${where}: "${path}" ${issue.message}, ${got}`;
}

/** A parse stopped at its first problem: the output, or that problem. */
export type WireResult<S extends Schema> =
  | { readonly success: true; readonly output: v.InferOutput<S> }
  | { readonly success: false; readonly issue: v.BaseIssue<unknown> };

/** Parses `value` with `schema`, stopping at the first problem (see {@link issueMessage}). */
export function safeParseWire<S extends Schema>(schema: S, value: unknown): WireResult<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  return result.success
    ? { success: true, output: result.output }
    : { success: false, issue: result.issues[0] as v.BaseIssue<unknown> };
}

/**
 * Parses `value` with `schema`, stopping at the first problem: a `protocol` {@link ReactorError}
 * whose message says where, which field, what it must be and what it was.
 */
export function parseWire<S extends Schema>(
  schema: S,
  value: unknown,
  where: string,
  base: readonly Key[] = [],
): v.InferOutput<S> {
  const result = safeParseWire(schema, value);
  if (result.success) return result.output;
  throw new ReactorError('protocol', issueMessage(result.issue, where, base));
}

/**
 * Every problem of a parse, one line each (`network.drop: …`, `(root): unknown key "colour"`), for
 * files a person wrote, where seeing all problems at once saves rounds.
 */
export function issueLines(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const keys = keysOf(issue);
    // An unknown key of a strict object is a problem of the object that holds it.
    if (issue.path?.at(-1)?.origin === 'key' && issue.expected === 'never') {
      return `${pathText(keys.slice(0, -1), true) || '(root)'}: unknown key ${JSON.stringify(keys.at(-1))}`;
    }
    return `${pathText(keys, true) || '(root)'}: ${issue.message}`;
  });
}

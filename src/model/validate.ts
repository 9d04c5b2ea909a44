import { ReactorError } from './errors.js';

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

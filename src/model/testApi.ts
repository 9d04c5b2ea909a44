/**
 * The test functions an exported contract suite runs on (`describeStorageContract`,
 * `describeChannelContract`): the shape of vitest's (and jest's) `describe`, `it`, `expect` and
 * `afterEach`, so the library itself imports no test framework. Pass vitest's:
 *
 * ```ts
 * import { afterEach, describe, expect, it } from 'vitest';
 * describeStorageContract('my backend', place, { describe, it, expect, afterEach });
 * ```
 */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeout?: number): void;
  readonly expect: TestExpect;
  afterEach(hook: () => Promise<void> | void): void;
  /** Accepted so vitest's set can be passed whole; the suites clean up after each test instead. */
  afterAll?(hook: () => Promise<void> | void): void;
}

/** `expect` as the contract suites use it. */
export interface TestExpect {
  // biome-ignore lint/suspicious/noExplicitAny: matches vitest's and jest's `expect(actual: any)`
  (actual: any, message?: string): TestAssertion;
  arrayContaining(items: readonly unknown[]): unknown;
  stringContaining(text: string): unknown;
}

/** The matchers the contract suites use. */
export interface TestAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  toHaveLength(length: number): void;
  toContain(item: unknown): void;
  toBeDefined(): void;
  toBeUndefined(): void;
  // biome-ignore lint/suspicious/noExplicitAny: any constructor
  toBeInstanceOf(type: abstract new (...args: any[]) => unknown): void;
  toBeGreaterThan(n: number): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  // biome-ignore lint/suspicious/noExplicitAny: the predicate gets the actual value
  toSatisfy(predicate: (value: any) => boolean): void;
  readonly not: TestAssertion;
  readonly rejects: TestAsyncAssertion;
  readonly resolves: TestAsyncAssertion;
}

/** The matchers after `.rejects` / `.resolves`: the same, awaited. */
export type TestAsyncAssertion = {
  readonly [Name in keyof TestAssertion]: TestAssertion[Name] extends (...args: infer A) => void
    ? (...args: A) => Promise<void>
    : TestAsyncAssertion;
};

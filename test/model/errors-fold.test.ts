import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnyDocumentModel, defineDocumentModel } from '../../src/model/documentModel.js';
import { parseOperationEnvelope } from '../../src/model/envelope.js';
import { classifyError, ERROR_KINDS, ReactorError } from '../../src/model/errors.js';
import { applyOperation, describeFailure, fold } from '../../src/model/fold.js';
import { encodeHlc } from '../../src/model/hlc.js';
import { backoffDelay, nextRandom, seededRandom } from '../../src/model/random.js';
import type { OperationEnvelope } from '../../src/model/types.js';
import { StorageFencedError } from '../../src/storage/backend.js';

/** Runs `fn` and returns what it threw (fails the test if it returned). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Like {@link thrownBy}, and checks that the error is a ReactorError. */
function reactorErrorOf(fn: () => unknown): ReactorError {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ReactorError);
  return error as ReactorError;
}

describe('ReactorError', () => {
  it('carries kind, message, retryable and cause, and is an Error', () => {
    const cause = new Error('disk on fire');
    const error = new ReactorError('storage', 'could not write', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ReactorError', kind: 'storage', message: 'could not write', retryable: true });
    expect(error.cause).toBe(cause);
  });

  it('is retryable by default only for storage, network, timeout and clock-drift failures', () => {
    const retryable = ERROR_KINDS.filter((kind) => new ReactorError(kind, 'x').retryable);
    expect(retryable).toEqual(['storage', 'network', 'timeout', 'clock-drift']);
  });

  it('lets the thrower decide retryability', () => {
    expect(new ReactorError('storage', 'x', { retryable: false }).retryable).toBe(false);
    expect(new ReactorError('internal', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('has no cause unless one is given', () => {
    expect('cause' in new ReactorError('validation', 'x')).toBe(false);
  });

  it('survives a round trip through its plain data form', () => {
    const error = new ReactorError('network', 'remote went away', { retryable: false, cause: new Error('x') });
    const data = error.toData();
    expect(data).toEqual({ kind: 'network', message: 'remote went away', retryable: false });
    expect(structuredClone(data)).toEqual(data);
    const back = ReactorError.fromData(data);
    expect(back).toBeInstanceOf(ReactorError);
    expect(back.toData()).toEqual(data);
  });
});

describe('classifyError', () => {
  it('passes a ReactorError through unchanged', () => {
    const error = new ReactorError('conflict', 'taken');
    expect(classifyError(error)).toBe(error);
  });

  it.each(['AbortError', 'QuotaExceededError', 'TimeoutError', 'UnknownError', 'TransactionInactiveError'])(
    'treats a %s from storage as a retryable storage failure',
    (name) => {
      const error = classifyError({ name, message: 'it happened' });
      expect(error).toMatchObject({ kind: 'storage', retryable: true });
      expect(error.message).toContain(name);
      expect(error.message).toContain('it happened');
    },
  );

  it('classifies a real DOMException by its name', () => {
    const quota = new DOMException('the disk is full', 'QuotaExceededError');
    const error = classifyError(quota);
    expect(error).toMatchObject({ kind: 'storage', retryable: true });
    expect(error.cause).toBe(quota);
  });

  it.each(['ConstraintError', 'DataError', 'DataCloneError', 'VersionError'])(
    'treats a %s as a storage failure that retrying will not fix',
    (name) => {
      expect(classifyError({ name, message: 'no' })).toMatchObject({ kind: 'storage', retryable: false });
    },
  );

  it('decides by the inner error of a Dexie error that wraps one', () => {
    const constraint = new DOMException('Key already exists in the object store.', 'ConstraintError');
    const aborted = classifyError({
      name: 'AbortError',
      message: 'ConstraintError Key already exists',
      inner: constraint,
    });
    expect(aborted).toMatchObject({ kind: 'storage', retryable: false });
    expect(aborted.message).toContain('ConstraintError');

    const quota = classifyError({ name: 'AbortError', message: 'aborted', inner: { name: 'QuotaExceededError' } });
    expect(quota).toMatchObject({ kind: 'storage', retryable: true });

    const openFailed = classifyError({
      name: 'OpenFailedError',
      message: 'open failed',
      inner: { name: 'VersionError' },
    });
    expect(openFailed).toMatchObject({ kind: 'storage', retryable: false });
    expect(openFailed.message).toContain('VersionError');

    const plainAbort = classifyError({ name: 'AbortError', message: 'aborted', inner: null });
    expect(plainAbort).toMatchObject({ kind: 'storage', retryable: true });
  });

  it('turns any other Error into a non-retryable internal error that keeps it as the cause', () => {
    const bug = new TypeError('x is not a function');
    const error = classifyError(bug);
    expect(error).toMatchObject({ kind: 'internal', retryable: false, message: 'x is not a function' });
    expect(error.cause).toBe(bug);
  });

  it('makes a commit refused by the write fence a conflict that retrying will not fix', () => {
    const fenced = new StorageFencedError(3, 4);
    const error = classifyError(fenced, { what: 'commit' });
    expect(error).toMatchObject({ kind: 'conflict', retryable: false });
    expect(error.message).toMatch(/^commit failed: the database was taken over by a newer leader/);
    expect(error.message).toContain('epoch 3');
    expect(error.message).toContain('epoch 4');
    expect(error.cause).toBe(fenced);
    // By name, as for the other storage errors: also when it arrives as plain data or through a channel.
    expect(classifyError({ name: 'StorageFencedError', message: 'x' }, { origin: 'channel' })).toMatchObject({
      kind: 'conflict',
      retryable: false,
    });
  });

  it('turns thrown non-errors into internal errors', () => {
    expect(classifyError('boom')).toMatchObject({ kind: 'internal', retryable: false, message: 'boom' });
    expect(classifyError(42)).toMatchObject({ kind: 'internal', message: '42' });
    expect(classifyError(undefined)).toMatchObject({ kind: 'internal', message: 'undefined' });
  });
});

type ListState = { readonly items: readonly number[] };

const list = defineDocumentModel({
  type: 'list',
  initialState: (): ListState => ({ items: [] }),
  reducers: {
    APPEND: (state: ListState, input: { value: number }) => ({ items: [...state.items, input.value] }),
    REFUSE: (_state: ListState, input: { reason: string }): ListState => {
      throw new RangeError(input.reason);
    },
    THROW_STRING: (): ListState => {
      throw 'nope';
    },
  },
});
const model: AnyDocumentModel = list;

function op(id: string, wall: number, type: string, input: unknown): OperationEnvelope {
  return {
    id,
    documentId: 'd',
    scope: 'global',
    branch: 'main',
    type,
    input,
    timestamp: encodeHlc({ wall, logical: 0 }, 'n'),
    origin: 'n',
  };
}

describe('applyOperation', () => {
  it('runs the reducer of the op type', () => {
    expect(applyOperation(model, { items: [1] }, { type: 'APPEND', input: { value: 2 } })).toEqual({
      state: { items: [1, 2] },
    });
  });

  it('marks an op of an unknown type and leaves the state as it was', () => {
    const state = { items: [1] };
    const result = applyOperation(model, state, { type: 'POP', input: undefined });
    expect(result.state).toBe(state);
    expect(result.error).toContain('"POP"');
    expect(result.error).toContain('"list"');
  });

  it('marks an op whose reducer throws with the reason and leaves the state as it was', () => {
    const state = { items: [1] };
    const result = applyOperation(model, state, { type: 'REFUSE', input: { reason: 'too long' } });
    expect(result.state).toBe(state);
    expect(result.error).toBe('RangeError: too long');
  });

  it('describes a thrown non-error as text', () => {
    expect(applyOperation(model, { items: [] }, { type: 'THROW_STRING', input: null }).error).toBe('nope');
    expect(describeFailure(new Error('x'))).toBe('Error: x');
  });
});

describe('fold', () => {
  it('folds from the initial state', () => {
    expect(fold(model, [])).toEqual({ items: [] });
    expect(fold(model, [op('a', 1, 'APPEND', { value: 1 }), op('b', 2, 'APPEND', { value: 2 })])).toEqual({
      items: [1, 2],
    });
  });

  it('sorts by timestamp, then id, before applying', () => {
    const ops = [
      op('c', 2, 'APPEND', { value: 3 }),
      op('b', 1, 'APPEND', { value: 2 }),
      op('a', 1, 'APPEND', { value: 1 }),
    ];
    expect(fold(model, ops)).toEqual({ items: [1, 2, 3] });
    expect(ops.map((o) => o.id)).toEqual(['c', 'b', 'a']);
  });

  it('gives the same state for every arrival order', () => {
    const ops = [1, 2, 3, 4, 5, 6].map((n) => op(`op${n}`, n % 3, n === 4 ? 'REFUSE' : 'APPEND', { value: n }));
    const expected = fold(model, ops);
    fc.assert(
      fc.property(fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), (shuffled) => {
        expect(fold(model, shuffled)).toEqual(expected);
      }),
    );
  });

  it('skips ops that are marked and keeps folding', () => {
    const ops = [
      op('a', 1, 'APPEND', { value: 1 }),
      op('b', 2, 'REFUSE', { reason: 'x' }),
      op('c', 3, 'APPEND', { value: 3 }),
    ];
    expect(fold(model, ops)).toEqual({ items: [1, 3] });
  });

  it('continues from a given state (a keyframe)', () => {
    expect(fold(model, [op('z', 9, 'APPEND', { value: 9 })], { items: [7] })).toEqual({ items: [7, 9] });
  });
});

/** Calls defineDocumentModel with a definition its types would refuse, as JavaScript callers can. */
function defineUnchecked(definition: unknown) {
  return defineDocumentModel(definition as Parameters<typeof defineDocumentModel>[0]);
}

describe('defineDocumentModel', () => {
  const reducers = { ADD: (state: number) => state + 1 };

  it('returns a frozen model', () => {
    const counter = defineDocumentModel({ type: 'counter', initialState: () => 0, reducers });
    expect(counter.type).toBe('counter');
    expect(counter.initialState()).toBe(0);
    expect(Object.isFrozen(counter)).toBe(true);
    expect(Object.isFrozen(counter.reducers)).toBe(true);
  });

  it.each<[label: string, definition: unknown, problem: string]>([
    ['a missing type', { initialState: () => 0, reducers }, '"type" must be a non-empty string'],
    ['an empty type', { type: '', initialState: () => 0, reducers }, '"type" must be a non-empty string'],
    [
      'an initial state that is not a function',
      { type: 't', initialState: 0, reducers },
      '"initialState" must be a function',
    ],
    ['missing reducers', { type: 't', initialState: () => 0 }, '"reducers" must be an object of functions'],
    [
      'a reducer that is not a function',
      { type: 't', initialState: () => 0, reducers: { ADD: 1 } },
      'reducer "ADD" must be a function',
    ],
    [
      'a reducer named CREATE_DOCUMENT',
      { type: 't', initialState: () => 0, reducers: { CREATE_DOCUMENT: (s: number) => s } },
      '"CREATE_DOCUMENT" is reserved',
    ],
    [
      'a reducer named DELETE_DOCUMENT',
      { type: 't', initialState: () => 0, reducers: { DELETE_DOCUMENT: (s: number) => s } },
      '"DELETE_DOCUMENT" is reserved',
    ],
    ['a definition that is not an object', null, 'expects an object { type, initialState, reducers }'],
  ])('rejects %s with a validation error naming the problem', (_label, definition, problem) => {
    const error = reactorErrorOf(() => defineUnchecked(definition));
    expect(error.kind).toBe('validation');
    expect(error.message).toContain(problem);
  });

  it('names the model type in the message', () => {
    const error = reactorErrorOf(() => defineUnchecked({ type: 'todo', initialState: {}, reducers }));
    expect(error.message).toContain('"todo"');
  });
});

describe('parseOperationEnvelope', () => {
  const good = {
    id: 'op-1',
    documentId: 'doc-1',
    scope: 'global',
    branch: 'main',
    type: 'APPEND',
    input: { value: 1 },
    timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: 3 }, 'alice'),
    origin: 'alice',
  };

  it('accepts a well-formed envelope and keeps only envelope fields', () => {
    const parsed = parseOperationEnvelope({ ...good, index: 4, error: 'x', ordinal: 9 }, 'load');
    expect(parsed).toEqual(good);
  });

  it('accepts any input, including none', () => {
    const { input: _input, ...withoutInput } = good;
    expect(parseOperationEnvelope(withoutInput, 'load').input).toBeUndefined();
  });

  function protocolError(value: unknown): ReactorError {
    const error = reactorErrorOf(() => parseOperationEnvelope(value, 'load: operation 3'));
    expect(error.kind).toBe('protocol');
    expect(error.message).toContain('load: operation 3');
    return error;
  }

  it('rejects an envelope without an id, naming the field', () => {
    const { id: _id, ...withoutId } = good;
    expect(protocolError(withoutId).message).toContain('"id"');
    expect(protocolError({ ...good, id: '' }).message).toContain('"id"');
  });

  it('rejects an unknown scope, listing the scopes', () => {
    const message = protocolError({ ...good, scope: 'public' }).message;
    expect(message).toContain('"scope"');
    expect(message).toContain('document, global, local');
    expect(message).toContain('"public"');
  });

  it('rejects a malformed timestamp', () => {
    expect(protocolError({ ...good, timestamp: '2024-01-01T00:00:00Z' }).message).toContain('"timestamp"');
    expect(protocolError({ ...good, timestamp: 17 }).message).toContain('"timestamp"');
  });

  it.each([
    ['null', null],
    ['an array', [good]],
    ['a string', 'op-1'],
    ['undefined', undefined],
  ])('rejects %s where an operation was expected', (_label, value) => {
    expect(protocolError(value).message).toContain('expected an operation object');
  });

  it('rejects other missing or non-string fields by name', () => {
    for (const name of ['documentId', 'branch', 'type', 'origin']) {
      expect(protocolError({ ...good, [name]: 5 }).message).toContain(`"${name}"`);
    }
  });
});

describe('seeded randomness', () => {
  it('replays the same sequence from the same seed', () => {
    const a = seededRandom(1234);
    const b = seededRandom(1234);
    const first = Array.from({ length: 20 }, a);
    expect(Array.from({ length: 20 }, b)).toEqual(first);
    expect(nextRandom(1234)).toEqual(nextRandom(1234));
  });

  it('draws different sequences from different seeds', () => {
    const a = Array.from({ length: 5 }, seededRandom(1));
    const b = Array.from({ length: 5 }, seededRandom(2));
    expect(a).not.toEqual(b);
  });

  it('draws values in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const [value, next] = nextRandom(seed);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThan(1);
        expect(Number.isInteger(next)).toBe(true);
      }),
    );
  });

  it('threads its seed through nextRandom like the stateful generator', () => {
    const draws: number[] = [];
    let seed = 99;
    for (let i = 0; i < 5; i++) {
      const [value, next] = nextRandom(seed);
      draws.push(value);
      seed = next;
    }
    expect(Array.from({ length: 5 }, seededRandom(99))).toEqual(draws);
  });
});

describe('backoffDelay', () => {
  it('stays within [exp / 2, exp] where exp = min(max, base * 2^attempt)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (attempt, draw, baseMs, maxMs) => {
          const exp = Math.min(maxMs, baseMs * 2 ** attempt);
          const delay = backoffDelay(attempt, draw, baseMs, maxMs);
          expect(delay).toBeGreaterThanOrEqual(exp / 2);
          expect(delay).toBeLessThanOrEqual(exp);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('doubles with each attempt until the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, 1, 100, 2000));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });

  it('never exceeds the cap, however many attempts', () => {
    expect(backoffDelay(1000, 1, 20, 2000)).toBe(2000);
    expect(backoffDelay(1000, 0, 20, 2000)).toBe(1000);
  });
});

import { freezeData, sealState } from './data.js';
import type { AnyDocumentModel } from './documentModel.js';
import { ReactorError } from './errors.js';
import { compareOrder } from './order.js';
import type { OperationEnvelope } from './types.js';

/** The result of applying one op: the next state, or the reason the op changes nothing. */
export type ApplyResult = { readonly state: unknown; readonly error?: string };

/** A reducer as the reactor calls it. */
type AnyReducer = (state: unknown, input: unknown) => unknown;

const MUTATION = /read[- ]only|not extensible|Cannot (assign|add property|delete|define property)|frozen/i;

/** Why an operation failed to apply, as recorded on the op. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const text = `${error.name}: ${error.message}`;
    // States are frozen: a reducer that changes the one it is given fails, and should learn why.
    return error instanceof TypeError && MUTATION.test(error.message)
      ? `${text} (states are frozen: a reducer must return a new state instead of changing the one it is given)`
      : text;
  }
  return String(error);
}

/** The model's reducer for an action type: an own property only, never an `Object.prototype` member. */
export function reducerOf(model: AnyDocumentModel, type: string): AnyReducer | undefined {
  return Object.hasOwn(model.reducers, type) ? (model.reducers[type] as AnyReducer) : undefined;
}

/** A model's initial state, checked and frozen like every state. */
export function initialStateOf(model: AnyDocumentModel): unknown {
  const state = model.initialState();
  const refusal = sealState(state);
  if (refusal !== undefined) {
    throw new ReactorError(
      'validation',
      `model "${model.type}": initialState(): ${refusal.replace('the reducer', 'it')}`,
    );
  }
  return state;
}

/**
 * Applies one op. An unknown type, a reducer that throws, or one that returns something that is
 * not a state (undefined, a Promise, a class instance, a cycle) leaves the state as it was and
 * reports why: the op stays in the log, marked, on every reactor alike. The state a reducer is
 * given is frozen, and so is the one it returns, so no reducer can change a state in place.
 */
export function applyOperation(
  model: AnyDocumentModel,
  state: unknown,
  op: Pick<OperationEnvelope, 'type' | 'input'>,
): ApplyResult {
  const reducer = reducerOf(model, op.type);
  if (reducer === undefined) {
    return { state, error: `model "${model.type}" has no reducer "${op.type}"` };
  }
  freezeData(op.input);
  let next: unknown;
  try {
    next = reducer(state, op.input);
  } catch (error) {
    return { state, error: describeFailure(error) };
  }
  const refusal = sealState(next, state);
  return refusal === undefined ? { state: next } : { state, error: refusal };
}

/** `fold(reducer, initialState, ops in canonical order)`: the state a set of ops defines. */
export function fold(model: AnyDocumentModel, ops: readonly OperationEnvelope[], from?: unknown): unknown {
  let state = from === undefined ? initialStateOf(model) : from;
  for (const op of [...ops].sort(compareOrder)) state = applyOperation(model, state, op).state;
  return state;
}

import type { AnyDocumentModel } from './documentModel.js';
import { compareOrder } from './order.js';
import type { OperationEnvelope } from './types.js';

/** The result of applying one op: the next state, or the reason the op changes nothing. */
export type ApplyResult = { readonly state: unknown; readonly error?: string };

/** Why an operation failed to apply, as recorded on the op. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Applies one op. An unknown type or a reducer that throws leaves the state as it was and
 * reports why: the op stays in the log, marked, on every reactor alike.
 */
export function applyOperation(
  model: AnyDocumentModel,
  state: unknown,
  op: Pick<OperationEnvelope, 'type' | 'input'>,
): ApplyResult {
  const reducer = model.reducers[op.type] as ((s: unknown, i: unknown) => unknown) | undefined;
  if (reducer === undefined) {
    return { state, error: `model "${model.type}" has no reducer "${op.type}"` };
  }
  try {
    return { state: reducer(state, op.input) };
  } catch (error) {
    return { state, error: describeFailure(error) };
  }
}

/** `fold(reducer, initialState, ops in canonical order)`: the state a set of ops defines. */
export function fold(model: AnyDocumentModel, ops: readonly OperationEnvelope[], from?: unknown): unknown {
  let state = from === undefined ? model.initialState() : from;
  for (const op of [...ops].sort(compareOrder)) state = applyOperation(model, state, op).state;
  return state;
}

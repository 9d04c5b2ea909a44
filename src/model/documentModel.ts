import { sealState } from './data.js';
import { ReactorError } from './errors.js';

/** A pure reducer: `(state, input) => nextState`. It never reads the clock, randomness or IO. */
export type Reducer<TState, TInput = never> = (state: TState, input: TInput) => TState;

/** Reducers keyed by action type. */
export type Reducers<TState> = Record<string, Reducer<TState, never>>;

/** A document type: its name, its initial state and its reducers. */
export interface DocumentModel<TState = unknown, TReducers extends Reducers<TState> = Reducers<TState>> {
  readonly type: string;
  readonly initialState: () => TState;
  readonly reducers: TReducers;
}

/** A model with its types erased, as the reactor holds it. */
export interface AnyDocumentModel {
  readonly type: string;
  readonly initialState: () => unknown;
  readonly reducers: Readonly<Record<string, (state: never, input: never) => unknown>>;
}

const RESERVED = new Set(['CREATE_DOCUMENT', 'DELETE_DOCUMENT']);

/**
 * Defines a document model. Checks the definition eagerly so a typo fails at start-up, not at the
 * first mutation: the type, every reducer, and that `initialState()` returns plain data. The
 * reducers are kept in a prototype-less object, so an action type such as `toString` or
 * `constructor` is a reducer only when the model defines one.
 */
export function defineDocumentModel<TState, TReducers extends Reducers<TState>>(definition: {
  type: string;
  initialState: () => TState;
  reducers: TReducers;
}): DocumentModel<TState, TReducers> {
  const where = `defineDocumentModel(${JSON.stringify(definition?.type)})`;
  if (typeof definition !== 'object' || definition === null) {
    throw new ReactorError('validation', 'defineDocumentModel expects an object { type, initialState, reducers }');
  }
  if (typeof definition.type !== 'string' || definition.type.length === 0) {
    throw new ReactorError('validation', `${where}: "type" must be a non-empty string`);
  }
  if (typeof definition.initialState !== 'function') {
    throw new ReactorError('validation', `${where}: "initialState" must be a function returning the initial state`);
  }
  if (typeof definition.reducers !== 'object' || definition.reducers === null) {
    throw new ReactorError('validation', `${where}: "reducers" must be an object of functions`);
  }
  const reducers = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(definition.reducers)) {
    const reducer = definition.reducers[name];
    if (typeof reducer !== 'function') {
      throw new ReactorError('validation', `${where}: reducer "${name}" must be a function`);
    }
    if (RESERVED.has(name)) {
      throw new ReactorError('validation', `${where}: "${name}" is reserved for the document scope`);
    }
    Object.defineProperty(reducers, name, { value: reducer, enumerable: true });
  }
  const refusal = sealState(definition.initialState());
  if (refusal !== undefined) {
    throw new ReactorError('validation', `${where}: initialState(): ${refusal.replace('the reducer', 'it')}`);
  }
  return Object.freeze({ ...definition, reducers: Object.freeze(reducers) as TReducers });
}

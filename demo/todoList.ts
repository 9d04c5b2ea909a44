import { defineDocumentModel } from '../src/index.js';

/** One entry of the shared list. */
export interface TodoItem {
  readonly id: string;
  readonly text: string;
  readonly done: boolean;
  /** Who added it, shown beside the item. */
  readonly by: string;
}

/** The list's state: items in the order their ADD ops sort in. */
export interface TodoState {
  readonly items: readonly TodoItem[];
}

/** The longest item text accepted. */
export const MAX_TEXT = 120;

/**
 * A shared to-do list. The app makes each item's id, so the reducers stay pure; toggling or
 * removing an item that is gone (removed concurrently on the other side) changes nothing.
 */
export const todoList = defineDocumentModel({
  type: 'todo-list',
  initialState: (): TodoState => ({ items: [] }),
  reducers: {
    ADD: (state: TodoState, input: { id: string; text: string; by: string }): TodoState => {
      const text = typeof input.text === 'string' ? input.text.trim() : '';
      if (text.length === 0 || text.length > MAX_TEXT) {
        throw new Error(`ADD: "text" must be 1 to ${MAX_TEXT} characters`);
      }
      if (state.items.some((item) => item.id === input.id)) return state;
      return { items: [...state.items, { id: input.id, text, done: false, by: input.by }] };
    },
    TOGGLE: (state: TodoState, input: { id: string }): TodoState => ({
      items: state.items.map((item) => (item.id === input.id ? { ...item, done: !item.done } : item)),
    }),
    REMOVE: (state: TodoState, input: { id: string }): TodoState => ({
      items: state.items.filter((item) => item.id !== input.id),
    }),
  },
});

import { defineDocumentModel } from '../model/documentModel.js';

/** A counter: `INCREMENT { by }`. */
export const counterModel = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: {
    INCREMENT: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }),
  },
});

/** A list whose state depends on op order: `ADD { item }`. */
export const listModel = defineDocumentModel({
  type: 'list',
  initialState: () => ({ items: [] as string[] }),
  reducers: {
    ADD: (state: { items: string[] }, input: { item: string }) => ({ items: [...state.items, input.item] }),
  },
});

/** The models simulations and the CLI use unless told otherwise. */
export const demoModels = [counterModel, listModel] as const;

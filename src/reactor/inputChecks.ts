import { toJsonData } from '../model/data.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { ReactorError } from '../model/errors.js';
import { reducerOf } from '../model/fold.js';
import { type Action, DEFAULT_BRANCH, type DocumentSnapshot } from '../model/types.js';
import { assertId, describe } from '../model/validate.js';

/** Where an error happened, for messages (built only when one is thrown). */
function where(documentId: string): string {
  return `mutate(${JSON.stringify(documentId)})`;
}

/** A branch name, or the default one. */
export function checkBranch(branch: unknown, where: string): string {
  if (branch === undefined) return DEFAULT_BRANCH;
  assertId(branch, `${where}: "branch"`);
  return branch;
}

/**
 * Checks a mutation's actions against what is known now (the document's current snapshot and
 * model) and returns a private copy of them, each input as frozen JSON data in normal form (see
 * `toJsonData`). The executor checks again when the job runs: the document may change in between.
 */
export function checkActions(
  documentId: string,
  actions: unknown,
  snapshot: DocumentSnapshot | undefined,
  models: ReadonlyMap<string, AnyDocumentModel>,
): readonly Action[] {
  if (!Array.isArray(actions) || actions.length === 0) {
    throw new ReactorError(
      'validation',
      `${where(documentId)}: expected a non-empty array of actions { type, input, scope? }, got ${describe(actions)}`,
    );
  }
  if (snapshot?.deleted) {
    throw new ReactorError(
      'conflict',
      `${where(documentId)}: the document was deleted; a deleted document accepts no more mutations`,
    );
  }
  const model = snapshot === undefined ? undefined : models.get(snapshot.type);
  const checked: Action[] = [];
  for (let i = 0; i < actions.length; i++) {
    const action: unknown = actions[i];
    if (typeof action !== 'object' || action === null || typeof (action as Action).type !== 'string') {
      throw new ReactorError(
        'validation',
        `${where(documentId)}: action ${i} must be an object { type: string, input, scope? }, got ${describe(action)}`,
      );
    }
    const { type, scope, input } = action as Action;
    if (type.length === 0 || type.length > 1024) {
      throw new ReactorError(
        'validation',
        `${where(documentId)}: action ${i}: "type" must be a non-empty string of at most 1024 characters`,
      );
    }
    if (scope !== undefined && scope !== 'global' && scope !== 'local') {
      throw new ReactorError(
        'validation',
        `${where(documentId)}: action ${i}: "scope" must be "global" or "local", got ${describe(scope)}`,
      );
    }
    if (model !== undefined && reducerOf(model, type) === undefined) {
      throw new ReactorError(
        'validation',
        `${where(documentId)}: action ${i}: model "${model.type}" has no action "${type}"; expected one of: ${Object.keys(model.reducers).join(', ')}`,
      );
    }
    const data = toJsonData(input, () => `${where(documentId)}: action ${i} ("${type}")`);
    checked.push({ type, ...(scope === undefined ? {} : { scope }), ...(data === undefined ? {} : { input: data }) });
  }
  return checked;
}

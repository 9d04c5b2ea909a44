import { canonicalJson } from '../model/hash.js';
import type { Operation } from '../model/types.js';
import type { Reactor } from '../reactor/createReactor.js';

/** The invariants a simulation checks after `quiesce()`. */
export type InvariantName = 'converged' | 'exactly-once' | 'queue-drained' | 'dead-letters';

/** One broken invariant, with a message that says exactly where. */
export interface InvariantViolation {
  readonly invariant: InvariantName;
  readonly message: string;
}

/** A reactor under check, by name. */
export interface NamedReactor {
  readonly name: string;
  readonly reactor: Reactor;
}

const SYNCED_SCOPES = ['document', 'global'] as const;

/**
 * Checks, on reactors that sync every document in the default scopes:
 * - every document has the same state and hash on every reactor (`converged`);
 * - every op stored anywhere is stored exactly once everywhere (`exactly-once`);
 * - no job is left in any queue (`queue-drained`);
 * - there are no dead letters beyond `expectedDeadLetters` (`dead-letters`).
 */
export async function checkInvariants(
  reactors: readonly NamedReactor[],
  options: { expectedDeadLetters?: number } = {},
): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  const add = (invariant: InvariantName, message: string) => violations.push({ invariant, message });

  const documentIds = new Set<string>();
  for (const { reactor } of reactors) {
    for (const doc of reactor.documents.list({ includeDeleted: true })) documentIds.add(doc.id);
  }
  for (const id of [...documentIds].sort()) {
    const [first, ...others] = reactors.map(({ name, reactor }) => ({ name, doc: reactor.documents.get(id) }));
    if (first === undefined) continue;
    for (const other of [first, ...others]) {
      if (other.doc === undefined) add('converged', `document "${id}" is missing on ${other.name}`);
    }
    for (const other of others) {
      if (first.doc === undefined || other.doc === undefined) continue;
      if (other.doc.hash !== first.doc.hash || canonicalJson(other.doc.state) !== canonicalJson(first.doc.state)) {
        add(
          'converged',
          `document "${id}": ${other.name} has hash ${other.doc.hash} at revision ${other.doc.revision}, but ${first.name} has ${first.doc.hash} at revision ${first.doc.revision}`,
        );
      }
    }

    for (const scope of SYNCED_SCOPES) {
      const logs = await Promise.all(
        reactors.map(async ({ name, reactor }) => ({ name, ops: await reactor.operations(id, { scope }) })),
      );
      const everywhere = new Map<string, Operation>();
      for (const { name, ops } of logs) {
        const seen = new Set<string>();
        for (const op of ops) {
          if (seen.has(op.id))
            add('exactly-once', `op "${op.id}" (document "${id}", ${scope}) is stored twice on ${name}`);
          seen.add(op.id);
          everywhere.set(op.id, op);
        }
      }
      for (const { name, ops } of logs) {
        const here = new Set(ops.map((op) => op.id));
        for (const [opId, op] of everywhere) {
          if (!here.has(opId)) {
            add('exactly-once', `op "${opId}" (document "${id}", ${scope}, from ${op.origin}) is missing on ${name}`);
          }
        }
      }
    }
  }

  for (const { name, reactor } of reactors) {
    const status = reactor.status();
    if (!status.idle) {
      add(
        'queue-drained',
        `${name} is not idle: ${status.jobs.waiting} job(s) waiting, ${status.jobs.running} running, ${status.store.pending} write(s) pending`,
      );
    }
  }

  let letters = 0;
  const detail: string[] = [];
  for (const { name, reactor } of reactors) {
    const found = await reactor.sync.deadLetters();
    letters += found.length;
    for (const letter of found.slice(0, 3)) {
      detail.push(
        `${name}: ${letter.direction} ${letter.remote} op "${letter.operation.id}": ${letter.reason.message}`,
      );
    }
  }
  const expected = options.expectedDeadLetters ?? 0;
  if (letters !== expected) {
    add(
      'dead-letters',
      `expected ${expected} dead letter(s), found ${letters}${detail.length > 0 ? `: ${detail.join('; ')}` : ''}`,
    );
  }
  return violations;
}

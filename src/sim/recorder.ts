import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { InspectionEvent } from 'xstate';
import { toInspectionRecord } from '../reactor/inspection.js';

/**
 * Records XState inspection events of every simulated reactor as JSON lines, with simulated time
 * and stable actor names (XState's session ids depend on what else ran in the process), and keeps
 * a digest of the trace so two runs can be compared.
 */
export class TraceRecorder {
  readonly #hash = createHash('sha256');
  readonly #names = new Map<string, string>();
  readonly #seen = new Map<string, number>();
  // XState numbers actors without an id (`x:0`, `x:1`, …) from one counter per process, so a second
  // run in the same process would see other numbers; they are renamed in order of appearance.
  readonly #anonymous = new Map<string, string>();
  readonly #stream: WriteStream | undefined;
  #lines = 0;

  constructor(path?: string) {
    this.#stream = path === undefined ? undefined : createWriteStream(path, { encoding: 'utf8' });
  }

  /** Number of events recorded. */
  get lines(): number {
    return this.#lines;
  }

  /** An inspection observer for one reactor. */
  inspector(reactor: string, now: () => number): (event: InspectionEvent) => void {
    return (event) => {
      const ref = event.actorRef as unknown as { id: string; sessionId: string };
      if (!this.#names.has(ref.sessionId)) {
        const base = `${reactor}/${this.#stableId(ref.id)}`;
        const n = this.#seen.get(base) ?? 0;
        this.#seen.set(base, n + 1);
        this.#names.set(ref.sessionId, n === 0 ? base : `${base}#${n}`);
      }
      const record = toInspectionRecord(event, (sessionId) => this.#names.get(sessionId) ?? `${reactor}/?`);
      // Refs serialised by XState itself (`replyTo`, `to`) and `actorId` still carry the raw ids.
      const line = JSON.stringify({ t: now(), reactor, ...record }).replace(
        /("actorId":|"name":|"xstate\$\$type":1,"id":)"(x:\d+)"/g,
        (_, key: string, id: string) => `${key}${JSON.stringify(this.#stableId(id))}`,
      );
      this.#hash.update(line);
      this.#hash.update('\n');
      this.#lines += 1;
      this.#stream?.write(`${line}\n`);
    };
  }

  /** An actor id with XState's process-wide numbering replaced by this trace's own. */
  #stableId(id: string): string {
    if (!/^x:\d+$/.test(id)) return id;
    let stable = this.#anonymous.get(id);
    if (stable === undefined) {
      stable = `actor:${this.#anonymous.size}`;
      this.#anonymous.set(id, stable);
    }
    return stable;
  }

  /** SHA-256 of every line so far. */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }

  /** Flushes and closes the trace file. */
  async close(): Promise<void> {
    const stream = this.#stream;
    if (stream === undefined) return;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

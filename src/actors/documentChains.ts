/** What a chain reports when a piece of work ends. */
export interface DocumentChainsPorts {
  /** A piece of work for the document finished (its effects are to be published). */
  readonly done: (documentId: string) => void;
  /** A piece of work (or `done`) threw; the chain goes on with the next one. */
  readonly failed: (documentId: string, error: unknown) => void;
}

/**
 * Per-document ordering: work for one document runs in the order it was queued, one piece at a
 * time, while documents run independently. A document with nothing queued has no chain, so the
 * common case (work done synchronously) never waits.
 */
export class DocumentChains {
  readonly #ports: DocumentChainsPorts;
  readonly #chains = new Map<string, Promise<void>>();

  constructor(ports: DocumentChainsPorts) {
    this.#ports = ports;
  }

  /** Queues `work` after whatever is queued for the document. */
  queue(documentId: string, work: () => Promise<void> | undefined): void {
    const previous = this.#chains.get(documentId) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => work())
      .then(() => this.#ports.done(documentId))
      .catch((error: unknown) => this.#ports.failed(documentId, error))
      .finally(() => {
        if (this.#chains.get(documentId) === next) this.#chains.delete(documentId);
      });
    this.#chains.set(documentId, next);
  }

  /** The work still queued for a document, if any: resolves when it is all done (never rejects). */
  pending(documentId: string): Promise<void> | undefined {
    return this.#chains.get(documentId);
  }

  /** Whether work is queued for a document (new work for it must queue behind). */
  busy(documentId: string): boolean {
    return this.#chains.has(documentId);
  }

  /** Resolves once no document has work queued, including work queued while waiting. */
  async settledAll(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains.values());
  }
}

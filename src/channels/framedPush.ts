import { ReactorError } from '../model/errors.js';
import type { PushRequest, PushResponse } from '../model/sync.js';

/** A request whose frame is over the server's limit (it was not sent). */
export class FrameTooLarge extends ReactorError {
  constructor(message: string) {
    super('validation', message, { retryable: false });
  }
}

/**
 * Pushes in as many frames as the server's limit needs: a batch too large for one frame is split
 * in halves (all parts carry the batch's cursor, which the server only echoes). An op too large
 * for any frame is reported back as rejected, so it becomes a dead letter instead of blocking sync.
 */
export function framedPush(
  push: (request: PushRequest) => Promise<PushResponse>,
  serverId: () => string | undefined,
): (request: PushRequest) => Promise<PushResponse> {
  const pushInFrames = async (request: PushRequest): Promise<PushResponse> => {
    try {
      return await push(request);
    } catch (error) {
      if (!(error instanceof FrameTooLarge)) throw error;
      const [op] = request.operations;
      if (request.operations.length === 1 && op !== undefined) {
        const from = serverId();
        return {
          ...(from === undefined ? {} : { from }),
          accepted: 0,
          duplicates: 0,
          rejected: [{ id: op.id, reason: error.toData() }],
          cursor: request.cursor,
        };
      }
      const half = Math.ceil(request.operations.length / 2);
      const first = await pushInFrames({ ...request, operations: request.operations.slice(0, half) });
      const second = await pushInFrames({ ...request, operations: request.operations.slice(half) });
      return {
        ...(second.from === undefined ? {} : { from: second.from }),
        accepted: first.accepted + second.accepted,
        duplicates: first.duplicates + second.duplicates,
        rejected: [...first.rejected, ...second.rejected],
        cursor: request.cursor,
      };
    }
  };
  return pushInFrames;
}

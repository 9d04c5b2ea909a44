import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { ReactorError } from '../model/errors.js';

/** Options of `xstate-reactor replay`. */
export interface ReplayOptions {
  readonly url: string;
  /** 0: as fast as possible; otherwise simulated ms are divided by this factor. */
  readonly speed: number;
}

/** Version of the inspection protocol the events follow (Stately inspector events). */
const PROTOCOL_VERSION = '1.0.0';

/**
 * A recorded line as a Stately inspection event: `type`, `rootId`, `sessionId`, `createdAt`, `id`,
 * `_version`, and per type `event` / `sourceId`, `snapshot`, or `name` / `parentId` / `definition`.
 */
function toInspectorEvent(line: string, index: number): string {
  const record = JSON.parse(line) as { t: number; [key: string]: unknown };
  return JSON.stringify({ ...record, id: `${index}`, createdAt: String(record.t), _version: PROTOCOL_VERSION });
}

/**
 * Streams a recorded trace (JSON lines of inspection events) to an inspector's WebSocket endpoint,
 * paced by the recorded simulated time. Resolves with the number of events sent.
 */
export async function replay(
  path: string,
  options: ReplayOptions,
  log: (line: string) => void = () => {},
): Promise<number> {
  const socket = new WebSocket(options.url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', (error) =>
      reject(new ReactorError('network', `cannot connect to ${options.url}: ${error.message}`, { cause: error })),
    );
  });
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let sent = 0;
  let previous: number | undefined;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const event = toInspectorEvent(line, sent);
      const t = (JSON.parse(line) as { t: number }).t;
      const wait = previous === undefined ? 0 : t - previous;
      if (options.speed > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait / options.speed));
      previous = t;
      await new Promise<void>((resolve, reject) => socket.send(event, (error) => (error ? reject(error) : resolve())));
      sent += 1;
      if (sent % 10_000 === 0) log(`replay: ${sent} events sent`);
    }
  } finally {
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close();
    });
  }
  return sent;
}

import { createBrowserInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import {
  type ActorTree,
  actorTree,
  childNames,
  inOrder,
  isWireEvent,
  regionStates,
  remoteNamed,
  remotesOf,
  roots,
  type WireEvent,
} from '../inspectorWire.js';
import { openReactor, uniqueDbName } from './support.js';

/**
 * A stand-in for the Stately inspector's web app, in an iframe of this page: it keeps every
 * inspector message posted to it and, like the real app once loaded, answers the page's hello with
 * `@statelyai.connected` (until then `createBrowserInspector` holds messages back).
 */
const RECEIVER_PAGE = `<!doctype html><script>
  window.received = [];
  addEventListener('message', (event) => {
    if (event.data && event.data.type === 'receiver.hello') {
      parent.postMessage({ type: '@statelyai.connected' }, '*');
      return;
    }
    window.received.push(event.data);
    if (window.onReceived) window.onReceived();
  });
</script>`;

interface ReceiverWindow extends Window {
  received: unknown[];
  onReceived?: () => void;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The iframe receiver and an inspector posting to it, connected. */
async function inspectorInIframe() {
  const url = URL.createObjectURL(new Blob([RECEIVER_PAGE], { type: 'text/html' }));
  const iframe = document.createElement('iframe');
  document.body.append(iframe);
  cleanups.push(() => {
    iframe.remove();
    URL.revokeObjectURL(url);
  });
  const inspector = createBrowserInspector({ iframe, url });
  cleanups.push(() => inspector.stop());
  // The inspector learns the iframe's window on its load event; this listener runs after its own.
  await new Promise((resolve) => iframe.addEventListener('load', resolve, { once: true }));
  const connected = new Promise<void>((resolve) => {
    const onMessage = (event: MessageEvent) => {
      if ((event.data as { type?: unknown } | null)?.type !== '@statelyai.connected') return;
      window.removeEventListener('message', onMessage);
      resolve();
    };
    window.addEventListener('message', onMessage);
  });
  const receiver = iframe.contentWindow as ReceiverWindow;
  receiver.postMessage({ type: 'receiver.hello' }, '*');
  await connected;

  const messages = (): WireEvent[] => receiver.received.filter(isWireEvent);
  /** Resolves with the actor tree once `ready(tree)` holds; fails after 5 s saying what was missing. */
  const until = (ready: (tree: ActorTree) => boolean, what: string) =>
    new Promise<ActorTree>((resolve, reject) => {
      const check = () => {
        const tree = actorTree(messages());
        if (!ready(tree)) return;
        finish();
        resolve(tree);
      };
      const deadline = setTimeout(() => {
        finish();
        reject(new Error(`the inspector never showed ${what} (${receiver.received.length} messages received)`));
      }, 5_000);
      const finish = () => {
        clearTimeout(deadline);
        delete receiver.onReceived;
      };
      receiver.onReceived = check;
      check();
    });
  return { inspector, until };
}

describe('the Stately inspector in the page (postMessage to an iframe)', () => {
  it('shows both reactors’ actors and a ping-pong remote going idle → debouncing → sending → idle', async () => {
    const { inspector, until } = await inspectorInIframe();
    const retry = { baseMs: 5, maxMs: 50 };
    const a = await openReactor(uniqueDbName('inspect-a'), { id: 'a', retry, inspect: inspector.inspect });
    const b = await openReactor(uniqueDbName('inspect-b'), { id: 'b', retry, inspect: inspector.inspect });
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'ping-pong', pullIntervalMs: 60_000, debounceMs: 1 });
    await a.createDocument('counter', { id: 'c' });
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await a.sync.settled();
    expect(b.documents.get('c')?.state).toEqual({ count: 4 });

    const pushed = a.sync.status('b')?.pushed;
    expect(pushed).toBe(2);
    const tree = await until((t) => {
      const remote = remoteNamed(t, 'b');
      const last = remote?.snapshots.at(-1);
      return roots(t, 'reactor').length === 2 && last?.context?.pushed === pushed;
    }, 'a’s remote with everything pushed');

    for (const root of roots(tree, 'reactor')) {
      expect(childNames(tree, root)).toEqual([
        'documentView',
        'jobExecutor',
        'operationsStore',
        'queue',
        'replies',
        'syncManager',
      ]);
    }
    expect(roots(tree, 'reactor').map((root) => remotesOf(tree, root).join(','))).toContain('remote:b');
    const push = ['idle', 'debouncing', 'sending', 'idle'];
    expect(inOrder(regionStates(remoteNamed(tree, 'b'), 'push'), push)).toEqual(push);
    const pull = ['pulling.fetching', 'idle'];
    expect(inOrder(regionStates(remoteNamed(tree, 'b'), 'pull'), pull)).toEqual(pull);
  });
});

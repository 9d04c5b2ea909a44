import { cloneElement, createElement, type ReactElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createSimNetwork, type DocumentSnapshot, type Reactor, type RemoteStatus } from '../../src/index.js';
import { useDocument, useSyncStatus } from '../../src/react/index.js';
import { openReactor, uniqueDbName } from './support.js';

// React is rendered for real (react-dom, this page's DOM) without act(): the tests wait for what a
// user would see, the DOM, with expect.poll.
const mounted: { root: Root; container: HTMLElement }[] = [];

/** Renders into a fresh container; `rerender` renders the same tree again (a parent re-rendering). */
function render(element: ReactElement) {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  root.render(element);
  mounted.push({ root, container });
  return { view: container, rerender: () => root.render(cloneElement(element)) };
}

afterEach(() => {
  for (const { root, container } of mounted.splice(0)) {
    root.unmount();
    container.remove();
  }
});

/** Fast retries: sync tests wait on real timers. */
const retry = { baseMs: 5, maxMs: 50 };

type CounterSnapshot = DocumentSnapshot<{ count: number }> | undefined;

/** A counter document as a user sees it. */
function Counter(props: { reactor: Reactor; id: string; onRender?: (doc: CounterSnapshot) => void }) {
  const doc = useDocument<{ count: number }>(props.reactor, props.id);
  props.onRender?.(doc);
  return createElement('output', null, doc === undefined ? 'missing' : `count ${doc.state.count}`);
}

/** One remote's status: its phase and pending count (or how many ops it pulled). */
function Status(props: {
  reactor: Reactor;
  name: string;
  show: 'pending' | 'pulled';
  onRender?: (status: RemoteStatus | undefined) => void;
}) {
  const status = useSyncStatus(props.reactor, props.name);
  props.onRender?.(status);
  return createElement('output', null, status === undefined ? 'no remote' : `${status.phase} ${status[props.show]}`);
}

/** Every remote, as `name:mode`. */
function Remotes(props: { reactor: Reactor }) {
  const all = useSyncStatus(props.reactor);
  return createElement('output', null, all.map((status) => `${status.name}:${status.mode}`).join(','));
}

describe('useDocument', () => {
  it('re-renders with each change of its document, only then, and keeps the same snapshot object meanwhile', async () => {
    const reactor = await openReactor(uniqueDbName('react-doc'));
    await reactor.createDocument('counter', { id: 'watched' });
    await reactor.createDocument('counter', { id: 'other' });
    const seen: CounterSnapshot[] = [];
    const { view, rerender } = render(
      createElement(Counter, { reactor, id: 'watched', onRender: (doc) => seen.push(doc) }),
    );
    await expect.poll(() => view.textContent).toBe('count 0');

    await reactor.mutate('watched', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await expect.poll(() => view.textContent).toBe('count 2');
    await reactor.mutate('watched', [{ type: 'INCREMENT', input: { by: 3 } }]);
    await expect.poll(() => view.textContent).toBe('count 5');
    expect(seen.map((doc) => doc?.state.count)).toEqual([0, 2, 5]);

    // Another document changing does not re-render this component...
    await reactor.mutate('other', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await reactor.whenIdle();
    // ...and a re-render for another reason gets the very same snapshot object.
    rerender();
    await expect.poll(() => seen.length).toBe(4);
    expect(seen[3]).toBe(seen[2]);
    expect(seen[3]).toBe(reactor.documents.get('watched'));
  });

  it('shows undefined for a missing document, then the document once it is created', async () => {
    const reactor = await openReactor(uniqueDbName('react-missing'));
    const { view } = render(createElement(Counter, { reactor, id: 'later' }));
    await expect.poll(() => view.textContent).toBe('missing');

    await reactor.createDocument('counter', { id: 'later' });
    await expect.poll(() => view.textContent).toBe('count 0');
    await reactor.mutate('later', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await expect.poll(() => view.textContent).toBe('count 4');
  });

  it('shows a document that arrives by sync from another reactor', async () => {
    const a = await openReactor(uniqueDbName('react-sync-a'), { id: 'a', retry });
    const b = await openReactor(uniqueDbName('react-sync-b'), { id: 'b', retry });
    const { view } = render(createElement(Counter, { reactor: b, id: 'shared' }));
    await expect.poll(() => view.textContent).toBe('missing');

    await a.createDocument('counter', { id: 'shared' });
    await a.mutate('shared', [{ type: 'INCREMENT', input: { by: 7 } }]);
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    await expect.poll(() => view.textContent, { timeout: 10_000 }).toBe('count 7');
  });
});

describe('useSyncStatus', () => {
  it('follows a remote’s phase and pending count through a partition and a heal', async () => {
    const network = createSimNetwork({ seed: 3 });
    const a = await openReactor(uniqueDbName('react-status-a'), { id: 'a', retry });
    const b = await openReactor(uniqueDbName('react-status-b'), { id: 'b', retry });
    const phases: RemoteStatus['phase'][] = [];
    const seen: (RemoteStatus | undefined)[] = [];
    const onRender = (status: RemoteStatus | undefined) => {
      seen.push(status);
      if (status !== undefined && phases.at(-1) !== status.phase) phases.push(status.phase);
    };
    const one = render(createElement(Status, { reactor: a, name: 'b', show: 'pending', onRender }));
    const all = render(createElement(Remotes, { reactor: a }));
    await expect.poll(() => one.view.textContent).toBe('no remote');
    expect(all.view.textContent).toBe('');

    // A long pull interval: between pokes and writes the remote stays idle.
    await a.sync.add({ name: 'b', channel: connect(a, b, { network }), mode: 'ping-pong', pullIntervalMs: 60_000 });
    await expect.poll(() => one.view.textContent, { timeout: 10_000 }).toBe('idle 0');
    expect(all.view.textContent).toBe('b:ping-pong');

    network.partition(a, b);
    await a.createDocument('counter', { id: 'while-cut' });
    await a.mutate('while-cut', [{ type: 'INCREMENT', input: { by: 1 } }]);
    // Two local ops cannot be pushed: they stay pending while the remote backs off, then goes offline.
    await expect.poll(() => one.view.textContent, { timeout: 10_000 }).toBe('offline 2');
    expect(phases).toContain('backingOff');
    expect(b.documents.get('while-cut')).toBeUndefined();

    network.heal();
    await expect.poll(() => one.view.textContent, { timeout: 10_000 }).toBe('idle 0');
    await expect.poll(() => b.documents.get('while-cut')?.state).toEqual({ count: 1 });
    expect(phases.at(-1)).toBe('idle');

    // While nothing changes, a re-render gets the same status object.
    const before = seen.length;
    one.rerender();
    await expect.poll(() => seen.length).toBe(before + 1);
    expect(seen.at(-1)).toBe(seen.at(-2));
  });

  it('does not re-render for changes of other remotes', async () => {
    const a = await openReactor(uniqueDbName('react-quiet-a'), { id: 'a', retry });
    const b = await openReactor(uniqueDbName('react-quiet-b'), { id: 'b', retry });
    const c = await openReactor(uniqueDbName('react-quiet-c'), { id: 'c', retry });
    let renders = 0;
    const { view } = render(
      createElement(Status, { reactor: a, name: 'b', show: 'pulled', onRender: () => (renders += 1) }),
    );
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'pull', pullIntervalMs: 60_000 });
    await a.sync.add({ name: 'c', channel: connect(a, c), mode: 'pull', pullIntervalMs: 60_000 });
    await expect.poll(() => view.textContent, { timeout: 10_000 }).toBe('idle 0');
    const settled = renders;

    // c writes and a pulls it (c pokes a): the list of statuses changes many times, b's status not at all.
    await c.createDocument('counter', { id: 'from-c' });
    await c.mutate('from-c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await expect.poll(() => a.documents.get('from-c')?.state, { timeout: 10_000 }).toEqual({ count: 1 });
    await expect.poll(() => a.sync.status('c')?.phase).toBe('idle');
    expect(a.sync.status('c')?.pulled).toBe(2);
    expect(view.textContent).toBe('idle 0');
    expect(renders).toBe(settled);
  });
});

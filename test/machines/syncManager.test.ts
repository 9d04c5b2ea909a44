import { describe, expect, it } from 'vitest';
import { type AnyActorLogic, type AnyActorRef, createActor, setup } from 'xstate';
import type { pingPongMachine, pullMachine, pushMachine } from '../../src/machines/remote/remote.js';
import type { RemoteInput } from '../../src/machines/remote/remoteSetup.js';
import { syncManagerMachine } from '../../src/machines/syncManager.js';
import { remoteInput } from '../support.js';

const remote = (name: string, overrides: Partial<RemoteInput> = {}): RemoteInput => remoteInput(name, overrides);

interface FakeContext {
  readonly statechart: string;
  readonly input: RemoteInput;
}

/** A stand-in remote statechart that records which one it is and the input it got. */
const fakeRemote = (statechart: string) =>
  setup({ types: { context: {} as FakeContext, input: {} as RemoteInput } }).createMachine({
    context: ({ input }) => ({ statechart, input }),
  });

/** The manager's setup types each mode as the real statechart; stand-ins have to be cast to it. */
const as = <T>(logic: AnyActorLogic) => logic as unknown as T;

function harness() {
  const actor = createActor(
    syncManagerMachine.provide({
      actors: {
        push: as<typeof pushMachine>(fakeRemote('push')),
        pull: as<typeof pullMachine>(fakeRemote('pull')),
        pingPong: as<typeof pingPongMachine>(fakeRemote('pingPong')),
      },
    }),
  ).start();
  const children = () => actor.getSnapshot().children as Record<string, AnyActorRef | undefined>;
  const context = (id: string) => children()[id]?.getSnapshot().context as FakeContext | undefined;
  return { actor, children, context };
}

describe('sync manager', () => {
  it('starts with no remotes', () => {
    const { actor, children } = harness();
    expect(actor.getSnapshot().context.attached).toEqual([]);
    expect(children()).toEqual({});
    actor.stop();
  });

  it('spawns one child per attached remote, named remote:<name>, running the statechart of its mode', () => {
    const { actor, children, context } = harness();
    const hub = remote('hub', { mode: 'push' });
    actor.send({ type: 'sync.attach', remote: hub });
    actor.send({ type: 'sync.attach', remote: remote('mirror', { mode: 'pull' }) });
    actor.send({ type: 'sync.attach', remote: remote('peer', { mode: 'ping-pong' }) });
    expect(Object.keys(children()).sort()).toEqual(['remote:hub', 'remote:mirror', 'remote:peer']);
    expect(context('remote:hub')).toEqual({ statechart: 'push', input: hub });
    expect(context('remote:mirror')?.statechart).toBe('pull');
    expect(context('remote:peer')?.statechart).toBe('pingPong');
    expect(actor.getSnapshot().context.attached).toEqual(['hub', 'mirror', 'peer']);
    actor.stop();
  });

  it('restarts a remote attached again: the old child stops and a new one runs the new settings', () => {
    const { actor, children, context } = harness();
    actor.send({ type: 'sync.attach', remote: remote('hub', { mode: 'push', pushCursor: 0 }) });
    actor.send({ type: 'sync.attach', remote: remote('other') });
    const before = children()['remote:hub'];
    const updated = remote('hub', { mode: 'pull', pullCursor: 17 });
    actor.send({ type: 'sync.attach', remote: updated });
    const after = children()['remote:hub'];
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(before?.getSnapshot().status).toBe('stopped');
    expect(after?.getSnapshot().status).toBe('active');
    expect(context('remote:hub')).toEqual({ statechart: 'pull', input: updated });
    expect(Object.keys(children()).sort()).toEqual(['remote:hub', 'remote:other']);
    expect(actor.getSnapshot().context.attached).toEqual(['other', 'hub']);
    actor.stop();
  });

  it('stops and forgets a detached remote, leaving the others running', () => {
    const { actor, children } = harness();
    actor.send({ type: 'sync.attach', remote: remote('hub') });
    actor.send({ type: 'sync.attach', remote: remote('other') });
    const hub = children()['remote:hub'];
    actor.send({ type: 'sync.detach', name: 'hub' });
    expect(hub?.getSnapshot().status).toBe('stopped');
    expect(Object.keys(children())).toEqual(['remote:other']);
    expect(children()['remote:other']?.getSnapshot().status).toBe('active');
    expect(actor.getSnapshot().context.attached).toEqual(['other']);
    actor.stop();
  });

  it('ignores detaching a remote that is not attached', () => {
    const { actor, children } = harness();
    actor.send({ type: 'sync.attach', remote: remote('hub') });
    actor.send({ type: 'sync.detach', name: 'nobody' });
    expect(Object.keys(children())).toEqual(['remote:hub']);
    expect(actor.getSnapshot().context.attached).toEqual(['hub']);
    actor.stop();
  });

  it('can attach a remote again after detaching it', () => {
    const { actor, children, context } = harness();
    actor.send({ type: 'sync.attach', remote: remote('hub', { mode: 'push' }) });
    actor.send({ type: 'sync.detach', name: 'hub' });
    actor.send({ type: 'sync.attach', remote: remote('hub', { mode: 'ping-pong' }) });
    expect(Object.keys(children())).toEqual(['remote:hub']);
    expect(context('remote:hub')?.statechart).toBe('pingPong');
    expect(actor.getSnapshot().context.attached).toEqual(['hub']);
    actor.stop();
  });

  it('stops every remote when it stops', () => {
    const { actor, children } = harness();
    actor.send({ type: 'sync.attach', remote: remote('hub') });
    actor.send({ type: 'sync.attach', remote: remote('other') });
    const refs = Object.values(children());
    actor.stop();
    expect(refs.map((ref) => ref?.getSnapshot().status)).toEqual(['stopped', 'stopped']);
  });
});

import { connect, createReactor, createSimNetwork, type Reactor, type SimNetwork } from '../src/index.js';
import { createInspectorRelay, type InspectorRelay } from './inspectorRelay.js';
import { todoList } from './todoList.js';

/** One side of the demo: a person, their reactor and the name of the remote they sync with. */
export interface Peer {
  readonly id: string;
  readonly label: string;
  readonly dbName: string;
  readonly reactor: Reactor;
  readonly remote: string;
}

/** Everything the page shows and drives. */
export interface Demo {
  readonly peers: readonly [Peer, Peer];
  readonly network: SimNetwork;
  readonly inspector: InspectorRelay;
  readonly listId: string;
  /** Stops both reactors and deletes their databases (then reload for a fresh start). */
  reset(): Promise<void>;
}

/** The one document both sides edit. */
export const LIST_ID = 'groceries';

const PEOPLE = [
  { id: 'alice', label: 'Alice' },
  { id: 'bob', label: 'Bob' },
] as const;

const dbNameOf = (id: string) => `xstate-reactor-demo-${id}`;

/**
 * Opens Alice's and Bob's reactors, each on its own IndexedDB database, and syncs them ping-pong
 * both ways over one simulated network. The list is created on Alice's side the first time.
 */
export async function startDemo(): Promise<Demo> {
  const inspector = createInspectorRelay();
  const network = createSimNetwork({ seed: 7 });
  const [alice, bob] = await Promise.all(
    PEOPLE.map((person) =>
      createReactor({
        id: person.id,
        models: [todoList],
        storage: { dbName: dbNameOf(person.id) },
        inspect: inspector.inspect,
        // Quick retries and probes, so a healed link is back within a second.
        retry: { baseMs: 50, maxMs: 1000 },
      }),
    ),
  );
  if (alice === undefined || bob === undefined) throw new Error('the demo needs two reactors');
  const peers: [Peer, Peer] = [
    { ...PEOPLE[0], dbName: dbNameOf('alice'), reactor: alice, remote: 'bob' },
    { ...PEOPLE[1], dbName: dbNameOf('bob'), reactor: bob, remote: 'alice' },
  ];
  await Promise.all([
    alice.sync.add({ name: 'bob', channel: connect(alice, bob, { network }), mode: 'ping-pong' }),
    bob.sync.add({ name: 'alice', channel: connect(bob, alice, { network }), mode: 'ping-pong' }),
  ]);
  if (alice.documents.get(LIST_ID) === undefined && bob.documents.get(LIST_ID) === undefined) {
    await alice.createDocument(todoList.type, { id: LIST_ID });
  }
  return {
    peers,
    network,
    inspector,
    listId: LIST_ID,
    async reset() {
      await Promise.all(peers.map((peer) => peer.reactor.stop({ abort: true })));
      await Promise.all(peers.map((peer) => deleteDatabase(peer.dbName)));
    },
  };
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

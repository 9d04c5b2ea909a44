import { useDocument, useSyncStatus } from '../src/react/index.js';
import { DemoActions } from './DemoActions.js';
import { NetworkControls } from './NetworkControls.js';
import { PeerPanel } from './PeerPanel.js';
import type { Demo } from './setup.js';

/** "in sync" once both sides hold the same list and have nothing left to send. */
function Convergence({ demo }: { demo: Demo }) {
  const [a, b] = demo.peers;
  const listA = useDocument(a.reactor, demo.listId);
  const listB = useDocument(b.reactor, demo.listId);
  const statusA = useSyncStatus(a.reactor, a.remote);
  const statusB = useSyncStatus(b.reactor, b.remote);
  const inSync =
    listA !== undefined &&
    listA.hash === listB?.hash &&
    statusA?.phase === 'idle' &&
    statusA.pending === 0 &&
    statusB?.phase === 'idle' &&
    statusB.pending === 0;
  return (
    <span className={inSync ? 'pill pill-up' : 'pill pill-busy'} data-testid="convergence" data-in-sync={inSync}>
      {inSync ? 'in sync' : 'diverged'}
    </span>
  );
}

/** The page: the network between the two sides, and each side's list. */
export function App({ demo }: { demo: Demo }) {
  return (
    <main>
      <header className="top">
        <div>
          <h1>Shared to-do list</h1>
          <p>Two reactors, each on its own IndexedDB database, syncing ping-pong over a simulated network.</p>
        </div>
        <div className="top-right">
          <Convergence demo={demo} />
          <DemoActions demo={demo} />
        </div>
      </header>
      <NetworkControls demo={demo} />
      <div className="panels">
        {demo.peers.map((peer) => (
          <PeerPanel key={peer.id} peer={peer} listId={demo.listId} />
        ))}
      </div>
    </main>
  );
}

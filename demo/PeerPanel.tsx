import { type FormEvent, useState } from 'react';
import type { RemoteStatus } from '../src/index.js';
import { useDocument, useSyncStatus } from '../src/react/index.js';
import type { Peer } from './setup.js';
import { MAX_TEXT, type TodoItem, type TodoState } from './todoList.js';

function formatLag(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A remote's status: phase, ops waiting to be pushed, how long the oldest has waited. */
function SyncStatus({ peer, status }: { peer: Peer; status: RemoteStatus | undefined }) {
  if (status === undefined) return <p className="status">not syncing</p>;
  return (
    <section className="status" data-testid={`status-${peer.id}`} data-phase={status.phase} aria-live="polite">
      <span className={`phase phase-${status.phase}`} data-testid={`phase-${peer.id}`}>
        {status.phase}
      </span>
      <dl>
        <div>
          <dt>pending</dt>
          <dd data-testid={`pending-${peer.id}`}>{status.pending}</dd>
        </div>
        <div>
          <dt>lag</dt>
          <dd data-testid={`lag-${peer.id}`}>{formatLag(status.lag)}</dd>
        </div>
        <div>
          <dt>push / pull</dt>
          <dd>
            {status.push} / {status.pull}
          </dd>
        </div>
      </dl>
      {status.lastError !== undefined && status.phase !== 'idle' && (
        <p className="last-error" title={status.lastError.kind}>
          {status.lastError.message}
        </p>
      )}
    </section>
  );
}

function Item({ item, onToggle, onRemove }: { item: TodoItem; onToggle(): void; onRemove(): void }) {
  return (
    <li className={item.done ? 'item done' : 'item'} data-testid="item" data-done={item.done}>
      <label>
        <input type="checkbox" checked={item.done} onChange={onToggle} aria-label={`Done: ${item.text}`} />
        <span className="text">{item.text}</span>
      </label>
      <span className="by">{item.by}</span>
      <button type="button" className="remove" onClick={onRemove} aria-label={`Remove ${item.text}`}>
        ×
      </button>
    </li>
  );
}

/** One person's side: their copy of the list, a form to add to it, and their sync status. */
export function PeerPanel({ peer, listId }: { peer: Peer; listId: string }) {
  const list = useDocument<TodoState>(peer.reactor, listId);
  const status = useSyncStatus(peer.reactor, peer.remote);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);

  const run = (type: string, input: Record<string, unknown>) =>
    peer.reactor.mutate(listId, [{ type, input }]).then(
      () => setError(undefined),
      (reason: unknown) => setError(reason instanceof Error ? reason.message : String(reason)),
    );

  const add = async (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === '') return;
    setText('');
    await run('ADD', { id: crypto.randomUUID(), text, by: peer.label });
  };

  return (
    <article className="panel" data-testid={`panel-${peer.id}`} aria-label={`${peer.label}'s list`}>
      <header>
        <h2>{peer.label}</h2>
        <code title="IndexedDB database">{peer.dbName}</code>
      </header>
      <SyncStatus peer={peer} status={status} />
      <form onSubmit={add}>
        <input
          value={text}
          maxLength={MAX_TEXT}
          onChange={(event) => setText(event.target.value)}
          placeholder={list === undefined ? 'waiting for the list…' : 'Add an item'}
          disabled={list === undefined}
          aria-label={`New item for ${peer.label}`}
          data-testid={`new-item-${peer.id}`}
        />
        <button type="submit" disabled={list === undefined} data-testid={`add-${peer.id}`}>
          Add
        </button>
      </form>
      {error !== undefined && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {list === undefined ? (
        <p className="empty" data-testid={`missing-${peer.id}`}>
          The list has not reached {peer.label} yet.
        </p>
      ) : (
        <ul className="items" data-testid={`list-${peer.id}`} aria-label={`${peer.label}'s items`}>
          {list.state.items.map((item) => (
            <Item
              key={item.id}
              item={item}
              onToggle={() => run('TOGGLE', { id: item.id })}
              onRemove={() => run('REMOVE', { id: item.id })}
            />
          ))}
          {list.state.items.length === 0 && <li className="empty">Nothing to do.</li>}
        </ul>
      )}
      <footer>
        <span>
          revision <b data-testid={`revision-${peer.id}`}>{list?.revision ?? '–'}</b>
        </span>
        <span>
          hash <b data-testid={`hash-${peer.id}`}>{list?.hash ?? '–'}</b>
        </span>
      </footer>
    </article>
  );
}

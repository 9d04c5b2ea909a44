import { useState } from 'react';
import type { Demo } from './setup.js';

/** Open the Stately inspector on both reactors' actor systems; reset both databases. */
export function DemoActions({ demo }: { demo: Demo }) {
  const { inspector, peers } = demo;
  const [inspectorOpen, setInspectorOpen] = useState(inspector.isOpen);
  return (
    <div className="actions">
      <button
        type="button"
        onClick={() => {
          inspector.open(peers.map((peer) => peer.reactor.system));
          setInspectorOpen(true);
        }}
        aria-label="Open the Stately inspector"
        title="The inspector is a page on stately.ai; offline it cannot load, and the demo carries on."
        data-testid="open-inspector"
      >
        {inspectorOpen ? 'Inspector ↗' : 'Open inspector'}
      </button>
      <button
        type="button"
        className="quiet"
        onClick={() => void demo.reset().then(() => window.location.reload())}
        aria-label="Delete both databases and start again"
        data-testid="reset"
      >
        Reset
      </button>
    </div>
  );
}

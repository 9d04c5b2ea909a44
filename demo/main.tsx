import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { startDemo } from './setup.js';

const element = document.getElementById('root');
if (element === null) throw new Error('index.html needs a #root element');
const root = createRoot(element);

startDemo().then(
  (demo) =>
    root.render(
      <StrictMode>
        <App demo={demo} />
      </StrictMode>,
    ),
  (error: unknown) =>
    root.render(
      <main>
        <p className="error" role="alert">
          The demo could not start: {error instanceof Error ? error.message : String(error)}
        </p>
      </main>,
    ),
);

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo runs from the repository's sources (../src), so no build is needed first.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Its own cache, apart from the browser test suite's.
  cacheDir: fileURLToPath(new URL('../node_modules/.vite/demo', import.meta.url)),
  // Automatic JSX runtime (`react/jsx-runtime`), no plugin needed.
  oxc: { jsx: { runtime: 'automatic' } },
  // Pre-bundle every dependency up front: no reload when the page first imports one.
  optimizeDeps: {
    include: [
      'react',
      'react/jsx-dev-runtime',
      'react-dom/client',
      'dexie',
      'rxjs',
      'xstate',
      '@xstate/store',
      'valibot',
      '@statelyai/inspect',
    ],
  },
  server: { host: '127.0.0.1' },
});

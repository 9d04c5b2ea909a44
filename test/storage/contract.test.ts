import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../../src/sqlite.js';
import { createDexieStorage, describeStorageContract } from '../../src/storage/index.js';

/**
 * Both backends run the storage contract suite exported from `xstate-reactor/storage`
 * (src/storage/contract.ts), as any other backend would.
 */
const t = { describe, it, expect, afterEach, afterAll };

describeStorageContract(
  'Dexie on fake-indexeddb',
  () => {
    const indexedDB = new IDBFactory();
    return { open: () => createDexieStorage({ dbName: 'contract', indexedDB, IDBKeyRange }) };
  },
  t,
);

const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-contract-'));
let files = 0;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describeStorageContract(
  'SQLite in a temp file',
  () => {
    files += 1;
    const path = join(folder, `contract-${files}.db`);
    return { open: () => createSqliteStorage({ path }) };
  },
  t,
);

import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of src/ is enforced by `npm run lint` (Biome's noRestrictedImports, see biome.json),
 * not by review. Each case writes a probe file into the folder whose rules it tests, lints it the
 * way `npm run lint` does, and removes it.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIOME = join(ROOT, 'node_modules/.bin/biome');

/** Lints `source` as a file in `folder` (written there for the run, then removed). */
function lint(folder: string, source: string): { ok: boolean; output: string } {
  const file = join(ROOT, folder, `__layering_probe_${process.pid}.ts`);
  writeFileSync(file, source);
  try {
    const result = spawnSync(BIOME, ['lint', file], { cwd: ROOT, encoding: 'utf8' });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

describe('layering, enforced by the linter', () => {
  it('a machine may import xstate, src/model and other machines, and nothing else', () => {
    const good = lint(
      'src/machines',
      "import { setup } from 'xstate';\nimport type { Job } from '../model/types.js';\nimport { queueMachine } from './queue.js';\nexport { setup, queueMachine };\nexport type { Job };\n",
    );
    expect(good.output).not.toMatch(/noRestrictedImports/);
    for (const source of [
      "import type { StorageBackend } from '../storage/backend.js';",
      "import { createEventBus } from '../actors/eventBus.js';",
      "import { createReactor } from '../reactor/createReactor.js';",
      "import { Subject } from 'rxjs';",
      "import { Dexie } from 'dexie';",
    ]) {
      const bad = lint('src/machines', `${source}\nexport {};\n`);
      expect(bad.ok, source).toBe(false);
      expect(bad.output, source).toMatch(/Machines are pure statecharts/);
    }
    expect(
      lint(
        'src/machines/remote',
        "import { ReactorError } from '../../storage/backend.js';\nexport { ReactorError };\n",
      ).ok,
    ).toBe(false);
    // The remote statecharts spawn their channel's connection statechart, a machine one level up.
    const sibling = lint(
      'src/machines/remote',
      "import { connectionMachine } from '../connection.js';\nexport { connectionMachine };\n",
    );
    expect(sibling.output).not.toMatch(/noRestrictedImports/);
    expect(
      lint('src/machines/remote', "import { RpcClient } from '../../channels/rpc.js';\nexport { RpcClient };\n").ok,
    ).toBe(false);
  });

  it('src/model imports only itself, the portable SHA-256 and the validator', () => {
    const bad = lint('src/model', "import { Subject } from 'rxjs';\nexport { Subject };\n");
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/src\/model is the pure domain/);
    const good = lint(
      'src/model',
      "import * as v from 'valibot';\nimport { sha256 } from '@noble/hashes/sha2.js';\nimport { describe } from './validate.js';\nexport { v, sha256, describe };\n",
    );
    expect(good.output).not.toMatch(/noRestrictedImports/);
    expect(lint('src/model', "import { z } from 'zod';\nexport { z };\n").ok).toBe(false);
  });

  it('channels and storage do not reach up into the reactor', () => {
    const channel = lint(
      'src/channels',
      "import { createReactor } from '../reactor/createReactor.js';\nexport { createReactor };\n",
    );
    expect(channel.ok).toBe(false);
    expect(channel.output).toMatch(/Channels are transports/);
    const storage = lint(
      'src/storage',
      "import { createEndpoint } from '../actors/endpoint.js';\nexport { createEndpoint };\n",
    );
    expect(storage.ok).toBe(false);
    expect(storage.output).toMatch(/Storage is the bottom layer/);
  });

  it('the main entry does not re-export storage rows', () => {
    expect(lint('src', "export type { StorageBackend } from './storage/backend.js';\n").ok).toBe(true);
    for (const source of [
      "export type { OperationRow } from './storage/schema.js';\n",
      "export type { OperationRow } from './model/rows.js';\n",
    ]) {
      const bad = lint('src', source);
      expect(bad.ok, source).toBe(false);
      expect(bad.output).toMatch(/they live there/);
    }
  });
});

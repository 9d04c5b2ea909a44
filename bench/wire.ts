/**
 * What reading a push costs on the receiving side: the text of one WebSocket frame carrying a
 * push of 2,048 ops, to the parsed request with every op checked (its shape, its input normalised
 * as JSON data, its content id recomputed, the local-scope policy). Run with `npm run bench:wire`.
 *
 * The new path (`readClientFrame` + `parsePushRequest`: the wire schema in `src/model/wire.ts`,
 * valibot) and the old one (the hand-written parsers it replaced, kept in `bench/wireLegacy.ts`)
 * run interleaved in the same process, `WIRE_ROUNDS` rounds (default 30) of each after a warm-up;
 * times are medians over rounds, min–max shown. "Shape only" rows leave out the per-op content
 * checks (id hash, policy) to show what the validator itself costs.
 */
import { readClientFrame } from '../src/channels/protocol.js';
import {
  encodeHlc,
  type OperationContent,
  type OperationEnvelope,
  operationId,
  PROTOCOL_VERSION,
} from '../src/index.js';
import { parseWire } from '../src/model/schema.js';
import { parsePushRequest } from '../src/model/sync.js';
import { operation, pushRequestBatch } from '../src/model/wire.js';
import {
  type Column,
  collectGarbage,
  envInteger,
  formatNumber,
  formatPercent,
  formatTable,
  median,
  now,
  progress,
} from './lib.js';
import {
  legacyParseOperationEnvelope,
  legacyParsePushRequest,
  legacyPushRequestShape,
  legacyReadRequestFrame,
} from './wireLegacy.js';

const OPS = envInteger('WIRE_OPS', 2048);
const ROUNDS = envInteger('WIRE_ROUNDS', 30);
const WARM_UP = 10;
const MAX_BATCH = 5000;
const ORIGIN = 'bench-writer';

/** A push of `n` ops over 16 documents, each with a small input (what a counter or a list sends). */
function pushFrame(n: number): string {
  const operations: OperationEnvelope[] = [];
  for (let i = 0; i < n; i++) {
    const content: OperationContent = {
      documentId: `doc-${i % 16}`,
      scope: 'global',
      branch: 'main',
      type: i % 2 === 0 ? 'INCREMENT' : 'ADD',
      input: i % 2 === 0 ? { by: (i % 5) + 1 } : { item: `item ${i}`, tags: ['a', 'b'], at: i },
      timestamp: encodeHlc({ wall: 1_700_000_000_000 + i, logical: 0 }, ORIGIN),
      origin: ORIGIN,
    };
    operations.push({ id: operationId(content), ...content });
  }
  return JSON.stringify({
    v: PROTOCOL_VERSION,
    type: 'push',
    id: 7,
    body: { from: ORIGIN, operations, cursor: n },
  });
}

interface Scenario {
  readonly name: string;
  readonly path: 'old' | 'new' | 'baseline';
  /** Reads the frame; returns how many ops came out accepted (checked against `OPS`). */
  readonly run: (text: string) => number;
}

const policy = { acceptLocal: false };
const newShape = pushRequestBatch(MAX_BATCH);

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'JSON.parse of the frame text only',
    path: 'baseline',
    run: (text) => JSON.parse(text).body.operations.length,
  },
  {
    name: 'old: hand parsers, ops checked (shape, input, id, policy)',
    path: 'old',
    run: (text) => legacyParsePushRequest(legacyReadRequestFrame(text).body, MAX_BATCH).operations.length,
  },
  {
    name: 'new: wire schema (valibot), ops checked (shape, input, id, policy)',
    path: 'new',
    run: (text) => {
      const frame = readClientFrame(text);
      if (frame.type === 'hello') throw new Error('expected a push frame');
      return parsePushRequest(frame.body, MAX_BATCH, policy).operations.length;
    },
  },
  {
    name: 'old: shape only (hand parsers, no id hash)',
    path: 'old',
    run: (text) => {
      const request = legacyPushRequestShape(legacyReadRequestFrame(text).body, MAX_BATCH);
      return request.operations.map((op, i) => legacyParseOperationEnvelope(op, `operation ${i}`)).length;
    },
  },
  {
    name: 'new: shape only (wire schema, no id hash)',
    path: 'new',
    run: (text) => {
      const frame = readClientFrame(text);
      if (frame.type === 'hello') throw new Error('expected a push frame');
      const request = parseWire(newShape, frame.body, 'push request');
      return request.operations.map((op, i) => parseWire(operation, op, `operation ${i}`)).length;
    },
  },
];

function main(): void {
  const started = now();
  const text = pushFrame(OPS);
  progress(`frame of ${OPS} ops, ${formatNumber(text.length)} bytes; ${ROUNDS} rounds per scenario`);
  const samples = new Map<Scenario, number[]>(SCENARIOS.map((scenario) => [scenario, []]));
  for (let round = -WARM_UP; round < ROUNDS; round++) {
    // Interleaved: a neighbour's burst on this shared machine hits every scenario alike.
    for (const scenario of SCENARIOS) {
      collectGarbage();
      const start = now();
      const accepted = scenario.run(text);
      const ms = now() - start;
      if (accepted !== OPS) throw new Error(`${scenario.name}: ${accepted} of ${OPS} ops came out`);
      if (round >= 0) samples.get(scenario)?.push(ms);
    }
  }
  const medianOf = (scenario: Scenario | undefined) => median(samples.get(scenario as Scenario) ?? []);
  const counterpart = (scenario: Scenario) =>
    SCENARIOS.find(
      (other) => other.path === 'old' && other.name.includes('shape only') === scenario.name.includes('shape only'),
    );
  interface Row {
    readonly scenario: Scenario;
    readonly ms: number;
    readonly range: readonly [number, number];
  }
  const rows: Row[] = SCENARIOS.map((scenario) => {
    const values = samples.get(scenario) ?? [];
    return { scenario, ms: median(values), range: [Math.min(...values), Math.max(...values)] };
  });
  const columns: Column<Row>[] = [
    { header: 'scenario', cell: (row) => row.scenario.name },
    { header: 'ms per push (median)', cell: (row) => formatNumber(row.ms, 2), align: 'right' },
    {
      header: 'min–max',
      cell: (row) => `${formatNumber(row.range[0], 2)}–${formatNumber(row.range[1], 2)}`,
      align: 'right',
    },
    { header: 'µs per op', cell: (row) => formatNumber((row.ms * 1000) / OPS, 2), align: 'right' },
    {
      header: 'new / old',
      cell: (row) =>
        row.scenario.path === 'new' ? formatPercent(row.ms / medianOf(counterpart(row.scenario)), 0) : '',
      align: 'right',
    },
  ];
  console.log('');
  console.log(
    `Wire — reading one push frame of ${formatNumber(OPS)} ops (${formatNumber(text.length)} bytes of JSON) on the receiving side, Node ${process.version}, ${ROUNDS} rounds`,
  );
  console.log(formatTable(columns, rows));
  console.log(`Total bench time ${((now() - started) / 1000).toFixed(1)} s.`);
}

main();

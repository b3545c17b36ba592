import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitRow } from '../../src/schema/fit-row.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { CorruptSpillError, SpillStore } from '../../src/spill/spill-store.js';
import { Replayer } from '../../src/export/replayer.js';
import { MemorySink } from '../support/memory-sink.js';
import { captureDiag } from '../support/diag-capture.js';

const destination = { table: 'metric_events' };

function row(i: number, extra: Record<string, unknown> = {}): MetricEvent {
  return fitRow({
    event_id: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`,
    schema_version: '1.0.0',
    session_id: `session-${i}`,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: i.toString(16).padStart(16, '0'),
    parent_span_id: null,
    operation_name: 'chat gpt-4o',
    operation_type: 'llm_call',
    timestamp: '2026-11-28T05:37:55.000001Z',
    duration_ms: 1.5,
    custom_attributes: { 'gen_ai.request.model': 'gpt-4o', note: 'tab\there "quoted" \\ 🦙' },
    ...extra,
  });
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-spill-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sinkTarget(sink: MemorySink, only = destination) {
  return {
    destination: only,
    write: (rows: readonly MetricEvent[]) => sink.write(rows),
    checkHealth: () => sink.checkHealth(),
    timeoutMillis: 5_000,
  };
}

describe('SpillStore', () => {
  it('reads back exactly the rows it stored, int64 above 2^53 included', async () => {
    const store = new SpillStore(dir, 1 << 30);
    const rows = [row(1), row(2, { image_total_pixels: 2n ** 60n + 7n })];
    const name = await store.store(rows, destination, 'database down');
    const claimed = await store.claim(name);
    const batch = await store.read(claimed!);
    expect(batch.rows).toEqual(rows);
    expect(batch.table).toBe('metric_events');
  });

  it('leaves no temporary file behind once a spill is stored', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], destination, 'x');
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^spill-\d{13}-\d+-[0-9a-f-]{36}\.ndjson$/);
  });

  it('refuses a file whose body was changed, with CorruptSpillError', async () => {
    const store = new SpillStore(dir, 1 << 30);
    const name = await store.store([row(1), row(2)], destination, 'x');
    const text = await readFile(join(dir, name), 'utf8');
    await writeFile(join(dir, name), text.replace('session-2', 'session-X'));
    const claimed = await store.claim(name);
    await expect(store.read(claimed!)).rejects.toThrow(CorruptSpillError);
  });

  it('drops the oldest files past the size cap and warns with the rows dropped', async () => {
    const captured = captureDiag();
    try {
      const store = new SpillStore(dir, 65_536);
      const many = Array.from({ length: 150 }, (_, i) => row(i));
      const first = await store.store(many, destination, 'x');
      await new Promise((r) => setTimeout(r, 5));
      await store.store(many, destination, 'x');
      await new Promise((r) => setTimeout(r, 5));
      await store.store(many, destination, 'x');
      const left = await store.list();
      expect(left).not.toContain(first);
      expect(
        captured.logs.some(
          (l) => l.level === 'warn' && l.message.includes(`dropped ${first} and its 150 rows`),
        ),
      ).toBe(true);
    } finally {
      captured.stop();
    }
  });
});

describe('Replayer', () => {
  it('replays files oldest first and removes each only after the sink took it', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], destination, 'x');
    await new Promise((r) => setTimeout(r, 5));
    await store.store([row(2)], destination, 'x');
    const sink = new MemorySink();
    const report = await new Replayer(store, sinkTarget(sink)).replayOnce();
    expect(report).toMatchObject({ files: 2, rows: 2 });
    expect(sink.rows.map((r) => r.session_id)).toEqual(['session-1', 'session-2']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the files when the sink is unhealthy, and says why it stopped', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], destination, 'x');
    const sink = new MemorySink();
    sink.failuresLeft = Infinity;
    const report = await new Replayer(store, sinkTarget(sink)).replayOnce();
    expect(report.files).toBe(0);
    expect(report.stoppedBecause).toMatch(/not healthy/);
    expect(await store.list()).toHaveLength(1);
  });

  it('keeps a file whose write fails, and stops while the sink is unhealthy', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], destination, 'x');
    await store.store([row(2)], destination, 'x');
    const sink = new MemorySink();
    const target = {
      ...sinkTarget(sink),
      write: async () => {
        sink.failuresLeft = Infinity; // the connection went with the write
        throw new Error('connection reset');
      },
    };
    const report = await new Replayer(store, target).replayOnce();
    expect(report.stoppedBecause).toBe('connection reset');
    expect(report.refused).toEqual([]);
    expect(await store.list()).toHaveLength(2);
  });

  it('goes past a file that a healthy sink refuses, keeping it for the next replay', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], destination, 'x');
    await new Promise((r) => setTimeout(r, 5));
    const refusedFile = await store.store([row(2)], destination, 'x');
    await new Promise((r) => setTimeout(r, 5));
    await store.store([row(3)], destination, 'x');
    const sink = new MemorySink();
    const target = {
      ...sinkTarget(sink),
      write: async (rows: readonly MetricEvent[]) => {
        if (rows.some((r) => r.session_id === 'session-2')) throw new Error('Data too long for column');
        await sink.write(rows);
      },
    };
    const report = await new Replayer(store, target).replayOnce();
    expect(report).toMatchObject({
      files: 2,
      rows: 2,
      refused: [{ file: refusedFile, reason: 'Data too long for column' }],
    });
    expect(report.stoppedBecause).toBeUndefined();
    expect(sink.rows.map((r) => r.session_id)).toEqual(['session-1', 'session-3']);
    expect(await store.list()).toEqual([refusedFile]);
  });

  it('sets a corrupt file aside with its reason, leaves a foreign file where it is, and replays the rest', async () => {
    const captured = captureDiag();
    try {
      const store = new SpillStore(dir, 1 << 30);
      const good = await store.store([row(1)], destination, 'x');
      const bad = await store.store([row(2)], destination, 'x');
      await writeFile(join(dir, bad), '{"format":"llamonitor-spill/1"}\n{"half a row');
      await writeFile(join(dir, 'notes.txt'), 'someone else');
      const sink = new MemorySink();
      const report = await new Replayer(store, sinkTarget(sink)).replayOnce();
      expect(report).toMatchObject({ files: 1, rows: 1, setAside: 1 });
      expect((await readdir(join(dir, 'set-aside'))).sort()).toEqual([bad, `${bad}.reason.txt`]);
      expect(await readFile(join(dir, 'set-aside', `${bad}.reason.txt`), 'utf8')).toMatch(
        /unusable: the header names no table/,
      );
      expect((await readdir(dir)).sort()).toEqual(['notes.txt', 'set-aside']);
      expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('someone else');
      const warnings = captured.logs.filter((l) => l.level === 'warn').map((l) => l.message);
      expect(warnings.join('\n')).toContain(bad);
      expect(warnings.join('\n')).not.toMatch(/notes\.txt/);
      expect(good).not.toBe(bad);
    } finally {
      captured.stop();
    }
  });

  it('sets aside files named like spill files that hold no spill (a JSON header that is no object, rows that are not JSON), and leaves a folder by such a name alone', async () => {
    const captured = captureDiag();
    try {
      const store = new SpillStore(dir, 1 << 30);
      const good = await store.store([row(1)], destination, 'x');
      const fake = (i: number) =>
        `spill-${1700000000000 + i}-1-00000000-0000-4000-8000-00000000000${i}.ndjson`;
      await writeFile(join(dir, fake(1)), 'null\n');
      await writeFile(join(dir, fake(2)), '[1,2]\n{}\n');
      const body = '{"event_id": not json}\n';
      const sha256 = createHash('sha256').update(body).digest('hex');
      await writeFile(
        join(dir, fake(3)),
        `${JSON.stringify({ format: 'llamonitor-spill/1', table: 'metric_events', schema: null, rows: 1, sha256 })}\n${body}`,
      );
      await mkdir(join(dir, fake(4)));
      const sink = new MemorySink();
      const report = await new Replayer(store, sinkTarget(sink)).replayOnce();
      expect(report).toMatchObject({ files: 1, rows: 1, setAside: 3 });
      expect(report.stoppedBecause).toBeUndefined();
      const setAside = (await readdir(join(dir, 'set-aside'))).filter((n) => !n.endsWith('.reason.txt'));
      expect(setAside.sort()).toEqual([fake(1), fake(2), fake(3)]);
      expect((await readdir(dir)).sort()).toEqual(['set-aside', fake(4)]);
      expect(good).toMatch(/^spill-/);
    } finally {
      captured.stop();
    }
  });

  it('counts the rows of a file dropped by the cap whose header is long', async () => {
    const captured = captureDiag();
    try {
      const store = new SpillStore(dir, 65_536);
      const many = Array.from({ length: 150 }, (_, i) => row(i));
      // JSON escapes each control character as six bytes: a header of some 12 KB.
      const first = await store.store(many, destination, '\u0001'.repeat(2_000));
      await new Promise((r) => setTimeout(r, 5));
      await store.store(many, destination, 'x');
      expect(
        captured.logs.some(
          (l) => l.level === 'warn' && l.message.includes(`dropped ${first} and its 150 rows`),
        ),
      ).toBe(true);
    } finally {
      captured.stop();
    }
  });

  it('leaves files meant for another table to that table’s exporter', async () => {
    const store = new SpillStore(dir, 1 << 30);
    await store.store([row(1)], { table: 'other_table' }, 'x');
    const sink = new MemorySink();
    const report = await new Replayer(store, sinkTarget(sink)).replayOnce();
    expect(report.files).toBe(0);
    expect(await store.list()).toHaveLength(1);
  });
});

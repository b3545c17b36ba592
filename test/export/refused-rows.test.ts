import { describe, expect, it } from 'vitest';
import { ConnectionError, RefusedDataError } from '../../src/errors.js';
import { storeAroundRefusals, type PartOutcome } from '../../src/export/refused-rows.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { sampleRows } from '../support/sample-rows.js';

/** A store that refuses any part holding one of `refusedIndexes`, and records every part it is given. */
function storeRefusing(rows: readonly MetricEvent[], refusedIndexes: readonly number[]) {
  const refusedIds = new Set(refusedIndexes.map((i) => rows[i]?.event_id));
  const stored: string[] = [];
  const parts: number[] = [];
  const write = async (part: readonly MetricEvent[]): Promise<PartOutcome> => {
    parts.push(part.length);
    const bad = part.find((row) => refusedIds.has(row.event_id));
    if (bad)
      return {
        kind: 'refused-data',
        error: new RefusedDataError(`refused ${bad.span_id}`, { code: '23514' }),
      };
    stored.push(...part.map((row) => row.event_id));
    return { kind: 'stored' };
  };
  return { write, stored, parts };
}

describe('finding the refused rows of a batch by halving it', () => {
  it('stores every other row, in order, and returns the refused ones with their own error and code', async () => {
    const rows = sampleRows(22);
    const store = storeRefusing(rows, [7]);
    const result = await storeAroundRefusals(rows, new RefusedDataError('the whole batch'), store.write);
    expect(store.stored).toEqual(rows.filter((_, i) => i !== 7).map((r) => r.event_id));
    expect(result.refused).toEqual([{ row: rows[7], error: `refused ${rows[7]?.span_id}`, code: '23514' }]);
    expect(result).toMatchObject({ unwritten: [], failure: undefined });
  });

  it('takes about 2·log2(n) writes for one refused row, and 2n - 2 when every row is refused', async () => {
    const rows = sampleRows(512);
    const one = storeRefusing(rows, [300]);
    await storeAroundRefusals(rows, new RefusedDataError('batch'), one.write);
    expect(one.parts).toHaveLength(2 * Math.log2(512));
    const all = storeRefusing(rows, [...rows.keys()]);
    const result = await storeAroundRefusals(rows, new RefusedDataError('batch'), all.write);
    expect(result.refused).toHaveLength(512);
    expect(all.parts).toHaveLength(2 * 512 - 2);
  });

  it('finds several refused rows scattered through the batch', async () => {
    const rows = sampleRows(100);
    const store = storeRefusing(rows, [0, 41, 42, 99]);
    const result = await storeAroundRefusals(rows, new RefusedDataError('batch'), store.write);
    expect(result.refused.map((r) => r.row.event_id)).toEqual([0, 41, 42, 99].map((i) => rows[i]?.event_id));
    expect(store.stored).toHaveLength(96);
  });

  it('keeps a batch of one row as refused without writing it again', async () => {
    const rows = sampleRows(1);
    const store = storeRefusing(rows, [0]);
    const result = await storeAroundRefusals(
      rows,
      new RefusedDataError('the row', { code: '22P02' }),
      store.write,
    );
    expect(store.parts).toEqual([]);
    expect(result.refused).toEqual([{ row: rows[0], error: 'the row', code: '22P02' }]);
  });

  it('stops at a write that fails otherwise, and returns the rows not yet stored, in order, with the reason', async () => {
    const rows = sampleRows(8);
    const failure = new ConnectionError('the connection was lost');
    let writes = 0;
    const result = await storeAroundRefusals(rows, new RefusedDataError('batch'), async (part) => {
      writes++;
      if (writes === 1) return { kind: 'stored' }; // rows 0-3
      if (writes === 2) return { kind: 'refused-data', error: new RefusedDataError('bad') }; // rows 4-7
      if (writes === 3) return { kind: 'stored' }; // rows 4-5
      return part.length > 0 ? { kind: 'failed', error: failure } : { kind: 'stored' }; // rows 6-7
    });
    expect(result.refused).toEqual([]);
    expect(result.unwritten.map((r) => r.event_id)).toEqual(rows.slice(6).map((r) => r.event_id));
    expect(result.failure).toBe(failure);
  });
});

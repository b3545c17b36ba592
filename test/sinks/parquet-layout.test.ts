import { describe, expect, it } from 'vitest';
import {
  compactTime,
  parseSegmentFileName,
  parseTempFileOwner,
  partFileName,
  probeFileName,
  segmentFileName,
  tempFileName,
  type Owner,
} from '../../src/sinks/parquet/dataset-layout.js';
import { hostLabel } from '../../src/sinks/process-owner.js';

const self: Owner = { host: hostLabel('build-box.example.com'), pid: process.pid, token: '0a1b2c3d' };
const segment = {
  time: compactTime(Date.parse('2026-01-02T03:04:05.123Z')),
  uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
  owner: self,
};

describe('dataset layout names', () => {
  it('name a segment so that its name gives back its time, uuid and owner', () => {
    expect(parseSegmentFileName(segmentFileName(segment))).toEqual(segment);
  });

  it('derive the same Parquet file name from the same segment, date and index every time', () => {
    const name = partFileName(segment, '2026-01-02', 0);
    expect(partFileName({ ...segment }, '2026-01-02', 0)).toBe(name);
    expect(name).toMatch(
      /^part-20260102T030405123Z-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.parquet$/,
    );
  });

  it('give different names to the files of other indexes, dates and segments', () => {
    const names = new Set([
      partFileName(segment, '2026-01-02', 0),
      partFileName(segment, '2026-01-02', 1),
      partFileName(segment, '2026-01-03', 0),
      partFileName({ ...segment, uuid: '7c9e6679-7425-40de-944b-e07fc1f90ae7' }, '2026-01-02', 0),
    ]);
    expect(names.size).toBe(4);
  });

  it('hide temporary files from readers: a leading dot, and no .parquet ending', () => {
    const name = tempFileName(partFileName(segment, '2026-01-02', 0), '2026-01-02', self);
    expect(name.startsWith('.')).toBe(true);
    expect(name.endsWith('.parquet')).toBe(false);
    expect(parseTempFileOwner(name)).toEqual(self);
  });

  it("name checkHealth's probe like a temporary file, so a leftover one is removed", () => {
    expect(parseTempFileOwner(probeFileName(self))).toEqual(self);
  });

  it('reduce a host name to characters that cannot break a file name', () => {
    expect(hostLabel('db~1/a b.local')).toBe('db-1-a-b-local');
  });
});

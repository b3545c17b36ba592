/** Messages between a ParquetSink and its conversion worker. */
import type { Owner } from './dataset-layout.js';
import type { FileModes } from '../file-modes.js';
import type { ConversionResult } from './segment-conversion.js';

/**
 * The segment has grown to `size` bytes: read ahead. While an append is in
 * progress its bytes may still be cut back; once `committed`, the batches up
 * to `size` are durable and acknowledged, and may be encoded.
 */
export interface FollowMessage {
  readonly type: 'follow';
  readonly segmentPath: string;
  readonly size: number;
  readonly committed: boolean;
  readonly dataset: string;
  readonly owner: Owner;
}

/** The segment was deleted without rows (its only append failed): drop what was read of it. */
export interface ForgetMessage {
  readonly type: 'forget';
  readonly segmentPath: string;
}

/** The segment is closed: write its rows as Parquet files, then delete it. */
export interface ConvertMessage {
  readonly type: 'convert';
  readonly id: number;
  readonly dataset: string;
  readonly segmentPath: string;
  /** Bytes holding acknowledged batches; absent for a segment left by a crash (read it all). */
  readonly size: number | undefined;
  readonly owner: Owner;
}

/** What a worker is started with (workerData). */
export interface WorkerSettings {
  /** Its process's token: the worker thread is the same owner as the thread that started it. */
  readonly processToken: string;
  /** Of the Parquet files, partition folders and quarantine folder it creates. */
  readonly modes: FileModes;
}

export type ToWorker = FollowMessage | ForgetMessage | ConvertMessage;

export type FromWorker =
  | { readonly type: 'converted'; readonly id: number; readonly result: ConversionResult }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly code?: string };

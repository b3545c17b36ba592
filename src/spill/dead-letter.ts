/**
 * Dead letters: rows the store refused (a value of the wrong form, a broken
 * constraint), kept with the server's error instead of being written again and
 * again, since writing them again fails again. They live in `dead-letter/`
 * under the spill folder; nothing replays them: a person reads them, fixes the
 * cause, and removes the file. `llamonitor replay` reports what is there.
 *
 * File: `dead-<epoch ms>-<pid>-<uuid>.ndjson`, written under a temporary name,
 * fsynced and renamed (a file that exists is whole); line 1 a header (format,
 * table, schema, row count, where the rows came from, the first error), then
 * one JSON object per line: `{"error", "code", "row"}`. The folder is capped:
 * past the cap the oldest files go, with a warning that counts their rows.
 */
import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import { fileModesOf, makeFolders, type FileMode } from '../sinks/file-modes.js';
import { writeFileDurably } from './durable-file.js';
import { readHeaderLine } from './header-line.js';
import { bigintAsString } from './spill-format.js';
import type { MetricEvent } from '../schema/columns.js';
import type { SpillDestination } from './spill-store.js';

const log = diag.createComponentLogger({ namespace: 'llamonitor-otel/dead-letter' });

export const DEAD_LETTER_FOLDER = 'dead-letter';
/** The folder's cap when none is given: refused rows are few unless something is badly wrong. */
export const DEAD_LETTER_MAX_BYTES = 64 * 1024 * 1024;

const FORMAT = 'llamonitor-dead-letter/1';
const NAME = /^dead-(\d{13})-(\d+)-[0-9a-f-]{36}\.ndjson$/;
const TEMPORARY_PREFIX = '.tmp-';
/** A temporary file older than this was left by a write that died: a write takes milliseconds. */
const ABANDONED_TEMPORARY_MILLIS = 60 * 60 * 1000;
const ERROR_MAX_CHARS = 2_000;

/** A row the store refused, and why. */
export interface RefusedRow {
  readonly row: MetricEvent;
  /** The server's error, as the sink described it (password masked). */
  readonly error: string;
  /** The server's code (a SQLSTATE, a MySQL error number), when it gave one. */
  readonly code?: string | undefined;
}

export interface DeadLetterSummary {
  readonly files: number;
  readonly rows: number;
  /** The error of the oldest file's first row. */
  readonly firstError: string | undefined;
}

interface DeadLetterHeader {
  readonly format: string;
  readonly table: string;
  readonly schema: string | null;
  readonly rows: number;
  readonly created: string;
  /** `export`, or the spill file whose replay found the rows. */
  readonly source: string;
  readonly firstError: string;
}

export class DeadLetterStore {
  readonly directory: string;

  constructor(
    spillDir: string,
    private readonly fileMode: FileMode = 'private',
    private readonly maxBytes: number = DEAD_LETTER_MAX_BYTES,
  ) {
    this.directory = join(spillDir, DEAD_LETTER_FOLDER);
  }

  /** Writes the refused rows durably (data and folder fsynced) and returns the file's name; then enforces the cap. */
  async store(
    refused: readonly RefusedRow[],
    destination: SpillDestination,
    source: string,
  ): Promise<string> {
    const first = refused[0];
    if (!first) throw new Error('no refused rows to keep');
    const modes = fileModesOf(this.fileMode);
    await makeFolders(this.directory, modes.folder);
    const name = `dead-${Date.now()}-${process.pid}-${randomUUID()}.ndjson`;
    const temporary = join(this.directory, `${TEMPORARY_PREFIX}${name}`);
    const header: DeadLetterHeader = {
      format: FORMAT,
      table: destination.table,
      schema: destination.schema ?? null,
      rows: refused.length,
      created: new Date().toISOString(),
      source,
      firstError: first.error.slice(0, ERROR_MAX_CHARS),
    };
    let text = JSON.stringify(header) + '\n';
    for (const { row, error, code } of refused) {
      text += JSON.stringify(
        { error: error.slice(0, ERROR_MAX_CHARS), code: code ?? null, row },
        bigintAsString,
      );
      text += '\n';
    }
    await writeFileDurably(temporary, join(this.directory, name), [Buffer.from(text, 'utf8')], modes.file);
    await this.enforceCap(name);
    return name;
  }

  /** What the folder holds: files, rows, and the oldest file's first error. */
  async summary(): Promise<DeadLetterSummary> {
    const names = await this.names();
    let rows = 0;
    let firstError: string | undefined;
    for (const name of names) {
      const header = await this.headerOf(name);
      if (!header) continue;
      rows += header.rows;
      firstError ??= header.firstError;
    }
    return { files: names.length, rows, firstError };
  }

  /** Dead-letter files, oldest first; temporary files left by a write that died are removed. */
  private async names(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (NAME.test(entry)) names.push(entry);
      else if (entry.startsWith(TEMPORARY_PREFIX) && NAME.test(entry.slice(TEMPORARY_PREFIX.length))) {
        await this.removeIfAbandoned(entry);
      }
    }
    return names.sort();
  }

  private async removeIfAbandoned(temporary: string): Promise<void> {
    const path = join(this.directory, temporary);
    const modified = await stat(path).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (modified !== undefined && Date.now() - modified > ABANDONED_TEMPORARY_MILLIS) {
      await rm(path, { force: true });
    }
  }

  private async headerOf(name: string): Promise<DeadLetterHeader | undefined> {
    const line = await readHeaderLine(join(this.directory, name));
    try {
      const header = JSON.parse(line ?? '') as DeadLetterHeader;
      return header.format === FORMAT ? header : undefined;
    } catch {
      return undefined;
    }
  }

  /** Past the cap, the oldest files go (never `keep`, the one just written), with a warning counting their rows. */
  private async enforceCap(keep: string): Promise<void> {
    const names = await this.names();
    const sizes = await Promise.all(names.map(async (n) => (await stat(join(this.directory, n))).size));
    let total = sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < names.length && total > this.maxBytes; i++) {
      const name = names[i] as string;
      if (name === keep) continue;
      const rows = (await this.headerOf(name))?.rows ?? 0;
      await rm(join(this.directory, name), { force: true });
      total -= sizes[i] as number;
      log.warn(
        `dead-letter folder ${this.directory} is over its cap of ${this.maxBytes} bytes: removed ${name} and its ${rows} refused rows`,
      );
    }
  }
}

/**
 * A small real file system for tests that need one to fill up: a tmpfs of a
 * few KB mounted on a new folder (tests run as root here and in CI). Where
 * mounting is refused, `tmpfsRefusal` says why and the tests skip with it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  readonly path: string;
  /** Gives the file system a new size (room comes back, or goes). */
  resize(bytes: number): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(bytes: number): Promise<SmallDisk> {
  const path = await mkdtemp(join(tmpdir(), 'llamonitor-small-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', path]);
  } catch (error) {
    await rm(path, { recursive: true, force: true });
    throw error;
  }
  return {
    path,
    resize: async (size) => {
      await run('mount', ['-o', `remount,size=${size}`, path]);
    },
    unmount: async () => {
      // Lazily: a test that failed half-way may still hold a file open there.
      await run('umount', ['--lazy', path]);
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** Why a tmpfs cannot be mounted here; undefined when it can. */
async function whyTmpfsIsRefused(): Promise<string | undefined> {
  try {
    const disk = await mountTmpfs(4096);
    await disk.unmount();
    return undefined;
  } catch (error) {
    return `mounting a tmpfs is not allowed here (${(error as Error).message.split('\n')[0]}); run as root to test a full disk`;
  }
}

export const tmpfsRefusal = await whyTmpfsIsRefused();
if (tmpfsRefusal !== undefined) console.warn(`skipping full-disk tests: ${tmpfsRefusal}`);

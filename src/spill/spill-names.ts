/**
 * The names the spill store writes in its folder, and so the only entries it
 * ever touches there (besides its lease file, see process-owner.ts, and its
 * `set-aside/` folder). Whatever else the folder holds is someone else's.
 *
 * - `spill-<epoch ms>-<pid>-<uuid>.ndjson`: a spill file, whole;
 * - `.tmp-<host>~<pid>~<token>-<spill file>`: one being written;
 * - `<spill file>.claim-<host>~<pid>~<token>`: one being replayed by that process.
 *
 * Releases before process tokens wrote `.tmp-<pid>-…` and `….claim-<pid>`:
 * those are still recognised, their owner known only by its PID.
 */
import type { ProcessOwner } from '../sinks/process-owner.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const SPILL = `spill-\\d{13}-\\d+-${UUID}\\.ndjson`;
const OWNER = '([A-Za-z0-9-]{1,63})~(\\d+)~([0-9a-f]{8,32})';

const SPILL_NAME = new RegExp(`^${SPILL}$`);
const CLAIM_NAME = new RegExp(`^(${SPILL})\\.claim-(?:${OWNER}|(\\d+))$`);
const TEMPORARY_NAME = new RegExp(`^\\.tmp-(?:${OWNER}|(\\d+))-${SPILL}$`);

/** Who holds a claim or a temporary file: a process, or only a PID for names written by an older release. */
export type NameOwner = ProcessOwner | { readonly legacyPid: number };

export type OwnName =
  | { readonly kind: 'spill' }
  | { readonly kind: 'claim'; readonly spill: string; readonly owner: NameOwner }
  | { readonly kind: 'temporary'; readonly owner: NameOwner };

function ownerLabel(owner: ProcessOwner): string {
  return `${owner.host}~${owner.pid}~${owner.token}`;
}

export function spillFileName(epochMillis: number, pid: number, uuid: string): string {
  return `spill-${String(epochMillis).padStart(13, '0')}-${pid}-${uuid}.ndjson`;
}

export function temporaryName(spill: string, owner: ProcessOwner): string {
  return `.tmp-${ownerLabel(owner)}-${spill}`;
}

export function claimName(spill: string, owner: ProcessOwner): string {
  return `${spill}.claim-${ownerLabel(owner)}`;
}

/** Matches groups host, pid, token, legacy pid from `index` on. */
function ownerOf(match: RegExpExecArray, index: number): NameOwner {
  const legacyPid = match[index + 3];
  if (legacyPid !== undefined) return { legacyPid: Number(legacyPid) };
  return { host: match[index] as string, pid: Number(match[index + 1]), token: match[index + 2] as string };
}

/** What a name in the spill folder is, when the spill store wrote it; undefined for anything else. */
export function parseOwnName(name: string): OwnName | undefined {
  if (SPILL_NAME.test(name)) return { kind: 'spill' };
  const claim = CLAIM_NAME.exec(name);
  if (claim) return { kind: 'claim', spill: claim[1] as string, owner: ownerOf(claim, 2) };
  const temporary = TEMPORARY_NAME.exec(name);
  if (temporary) return { kind: 'temporary', owner: ownerOf(temporary, 1) };
  return undefined;
}

export function isSpillFileName(name: string): boolean {
  return SPILL_NAME.test(name);
}

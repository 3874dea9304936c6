/**
 * Atomic file writes for every layer that writes to disk (data cache, checkpoints, reports): a temporary file
 * in the target folder, fsync, then rename, so a reader or a killed process never leaves a half-written file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** A file being written atomically: chunks go to a temp file beside it; `commit` makes it appear whole. */
export interface AtomicWriter {
  write(chunk: Uint8Array): void;
  /** fsync, close and rename over the target. */
  commit(): void;
  /** Close and delete the temp file; the target is untouched. Safe to call after a failed commit, or twice. */
  abort(): void;
}

/** The temp file's name: `.NAME.PID.tmp` in the target's folder, so a later run can tell a dead writer's leftovers. */
export function atomicTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/** The pid of the writer whose temp file (see atomicTempPath) this file name is, or undefined for other files. */
export function atomicTempWriterPid(fileName: string): number | undefined {
  const m = /^\..+\.(\d+)\.tmp$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/** Starts an atomic write of `path` (its folder is created), for data that arrives in chunks. */
export function createAtomicWriter(path: string): AtomicWriter {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = atomicTempPath(path);
  let fd: number | undefined = openSync(tmp, 'w');
  const close = (): void => {
    if (fd !== undefined) { const f = fd; fd = undefined; closeSync(f); }
  };
  return {
    write(chunk) {
      if (fd === undefined) throw new Error(`${path}: write after commit or abort`);
      writeSync(fd, chunk);
    },
    commit() {
      if (fd === undefined) throw new Error(`${path}: commit after commit or abort`);
      fsyncSync(fd);
      close();
      renameSync(tmp, path);
    },
    abort() {
      try { close(); } finally { rmSync(tmp, { force: true }); }
    },
  };
}

/** Writes via a temp file in the same folder and a rename, so readers never see a half-written file. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const writer = createAtomicWriter(path);
  try {
    writer.write(typeof data === 'string' ? Buffer.from(data) : data);
    writer.commit();
  } catch (err) {
    writer.abort(); // a failed write or rename leaves no temp file behind
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

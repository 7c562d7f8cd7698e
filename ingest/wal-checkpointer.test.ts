import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../core/net.js';
import { openDb, type Db } from '../core/sqlite.js';
import { WalCheckpointer } from './wal-checkpointer.js';

const MB = 1024 * 1024;

describe('WalCheckpointer', () => {
  let dir: string;
  let file: string;
  let db: Db;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dh-checkpoint-'));
    file = join(dir, 'outbox.db');
    db = openDb(file, { syncEachCommit: false });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)');
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Commits `megabytes` of rows, 1 MB a commit, deleting each before the next as the outbox does; returns the WAL's size. */
  async function write(megabytes: number, afterCommit: (committed: number) => Promise<void> | void): Promise<number> {
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    for (let i = 1; i <= megabytes; i++) {
      db.transaction(() => {
        db.exec('DELETE FROM t');
        for (let k = 0; k < 16; k++) insert.run(Buffer.alloc(64 * 1024, i));
      })();
      await afterCommit(i);
    }
    return statSync(`${file}-wal`).size;
  }

  /** A checkpointer every 2 MB, and a wait for its checkpoint after every second commit (however slow the machine). */
  function everyTwoMegabytes(errors: string[] = []) {
    let checkpoints = 0;
    const checkpointer = new WalCheckpointer(file, db, { onError: (m) => errors.push(m), onCheckpoint: () => checkpoints++ }, 2 * MB);
    const afterCommit = async (committed: number) => {
      checkpointer.appended(MB);
      if (committed % 2 === 0) await waitFor(() => checkpoints === committed / 2, 5000, `checkpoint ${committed / 2}`);
    };
    return { checkpointer, afterCommit };
  }

  it('keeps the WAL small by checkpointing on its worker thread, with the connection’s own checkpoints off', async () => {
    const errors: string[] = [];
    const { checkpointer, afterCommit } = everyTwoMegabytes(errors);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const walSize = await write(24, afterCommit);
    await checkpointer.close();
    expect(errors).toEqual([]);
    expect(walSize).toBeLessThan(8 * MB);
  });

  it('closes its worker’s connection before close() resolves, so the main connection closes last and removes the WAL', async () => {
    const { checkpointer, afterCommit } = everyTwoMegabytes();
    await write(2, afterCommit); // the worker has the file open: it has checkpointed
    await checkpointer.close();
    db.close();
    // SQLite removes the WAL only when the last connection closes; a worker still open would keep it.
    expect(existsSync(`${file}-wal`)).toBe(false);
    db = openDb(file, { syncEachCommit: false }); // for afterEach
  });

  it('without its checkpoints the same writes grow the WAL past everything written (the control)', async () => {
    db.pragma('wal_autocheckpoint = 0');
    expect(await write(24, () => {})).toBeGreaterThan(24 * MB);
  });

  it('says why and lets the connection checkpoint itself again when its worker cannot run', async () => {
    const errors: string[] = [];
    new WalCheckpointer(join(dir, 'missing', 'outbox.db'), db, { onError: (m) => errors.push(m) }, MB);
    await waitFor(() => errors.length > 0, 5000, 'the worker to fail');
    expect(errors[0]).toMatch(/WAL checkpoint worker (failed|exited)/);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  });
});

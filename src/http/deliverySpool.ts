import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireDataDirLock } from '../db/DataDirLock.js';
import type { DeliveryInput } from '../db/deliveries.js';
import type { Logger } from '../log.js';

/**
 * Deliveries acknowledged while the database could not take them. GitLab never retries a delivery, so
 * a comment or an emoji refused during an outage would be lost for good: instead each one is appended
 * to a local file and fsync'd before its 202, and replayed into the database, in order, once it is back.
 *
 * Files are segments `<seq>.jsonl`, one delivery a line. Appends go to the newest segment; a replay
 * seals it (the next append opens a new one) and writes the sealed segments oldest first, deleting each
 * once the database holds all of it. A line cut short by a crash was never acknowledged (the 202 waits
 * for the fsync) and is skipped. The directory is held by one process at a time (a lock file).
 */
export interface DeliverySpool {
  readonly dir: string;
  /** deliveries are waiting in the spool: new ones must queue behind them to keep the order */
  pending(): boolean;
  /** appends and fsyncs; rejects when the spool cannot be written */
  append(inputs: DeliveryInput[]): Promise<void>;
  /**
   * Hands every spooled delivery to `write`, oldest first, in batches; a segment is deleted once all of
   * it is written. Stops at the first failure (rethrown); what was not written stays for the next call.
   */
  replay(write: (batch: DeliveryInput[]) => Promise<void>, batchSize?: number): Promise<number>;
  /** waits for appends under way, then releases the directory */
  close(): Promise<void>;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const name = (seq: number) => `${String(seq).padStart(12, '0')}.jsonl`;

export function openDeliverySpool(dir: string, log: Logger): DeliverySpool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const release = acquireDataDirLock(dir, 'serve (delivery spool)');
  const existing = readdirSync(dir)
    .map((f) => SEGMENT.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  /** segments no longer appended to, oldest first */
  const sealed: number[] = [...existing];
  let nextSeq = (existing.at(-1) ?? 0) + 1;
  /** the segment appends go to, opened on the first append after a seal */
  let active: { seq: number; handle: FileHandle; lines: number } | null = null;
  /** appends accepted but not yet on disk: counted synchronously, so `pending()` never misses one */
  let inFlight = 0;
  let writing: Promise<void> = Promise.resolve();
  /** Runs `fn` after every append and seal before it: one file operation at a time, in call order. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const done = writing.then(fn);
    writing = done.then(
      () => {},
      () => {},
    );
    return done;
  }
  if (sealed.length) log.warn({ dir, segments: sealed.length }, 'delivery spool holds deliveries from an earlier run');

  function fsyncDir(): void {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Closes the active segment; the next append opens a new one. Only called between appends. */
  async function seal(): Promise<void> {
    if (!active) return;
    const { seq, handle, lines } = active;
    active = null;
    if (lines > 0) sealed.push(seq);
    await handle.close();
    if (lines === 0) unlinkSync(join(dir, name(seq)));
  }

  async function appendNow(inputs: DeliveryInput[]): Promise<void> {
    if (!active) {
      const seq = nextSeq++;
      active = { seq, handle: await open(join(dir, name(seq)), 'a', 0o600), lines: 0 };
      // the new file's directory entry must survive a power loss as much as its content
      fsyncDir();
    }
    const text = inputs.map((i) => `${JSON.stringify(i)}\n`).join('');
    await active.handle.write(text);
    await active.handle.datasync();
    active.lines += inputs.length;
  }

  function read(seq: number): DeliveryInput[] {
    const text = readFileSync(join(dir, name(seq)), 'utf8');
    const out: DeliveryInput[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as DeliveryInput);
      } catch {
        skipped++;
      }
    }
    if (skipped) log.warn({ segment: name(seq), skipped }, 'delivery spool: skipped lines cut short by a crash');
    return out;
  }

  return {
    dir,
    pending: () => sealed.length > 0 || inFlight > 0 || (active?.lines ?? 0) > 0,
    append(inputs) {
      inFlight += inputs.length;
      // one writer at a time: lines never interleave, and the order of appends is the order on disk
      return serial(() => appendNow(inputs)).finally(() => {
        inFlight -= inputs.length;
      });
    },
    async replay(write, batchSize = 64) {
      await serial(seal);
      let written = 0;
      while (sealed.length) {
        const seq = sealed[0]!;
        const entries = read(seq);
        for (let i = 0; i < entries.length; i += batchSize) {
          await write(entries.slice(i, i + batchSize));
          written += Math.min(batchSize, entries.length - i);
        }
        // a retry after a failure above writes the segment again from its start: the database
        // recognises those deliveries by their dedupe keys
        unlinkSync(join(dir, name(seq)));
        sealed.shift();
        if (!sealed.length) {
          // what arrived during the replay is next
          await serial(seal);
        }
      }
      return written;
    },
    async close() {
      await serial(seal).catch(() => {});
      release();
    },
  };
}

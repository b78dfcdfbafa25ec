// --verify can fail: another process changes blocks under a verifying run (paused with SIGSTOP so
// every block is changed at once), and the probe must report EVERIFY with the offset and what the
// block held instead. The block format is re-implemented here from its description (header of
// magic, offset, nonce, generation; a splitmix64 stream) to craft a genuine stale block.
import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { probeBinaryPath } from '../../lib/paths';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const BS = 4096;
const BLOCKS = 16;
const M64 = (1n << 64n) - 1n;
const MAGIC = 0x45424f52504f5349n; // "ISOPROBE"

function splitmix(state: { x: bigint }): bigint {
  state.x = (state.x + 0x9e3779b97f4a7c15n) & M64;
  let z = state.x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** The content a verifying run writes for a block: offset, run nonce and generation in a header, then a derived stream. */
function fillBlock(offset: bigint, nonce: bigint, gen: bigint): Buffer {
  const b = Buffer.alloc(BS);
  [MAGIC, offset, nonce, gen].forEach((v, i) => b.writeBigUInt64LE(v, i * 8));
  const state = { x: ((offset * 0x9e3779b97f4a7c15n) & M64) ^ nonce ^ ((gen << 56n) & M64) };
  for (let i = 32; i + 8 <= BS; i += 8) b.writeBigUInt64LE(splitmix(state), i);
  return b;
}

const header = (b: Buffer) => ({ magic: b.readBigUInt64LE(0), offset: b.readBigUInt64LE(8), nonce: b.readBigUInt64LE(16), gen: b.readBigUInt64LE(24) });

function readBlocks(file: string): Buffer[] {
  const fd = openSync(file, 'r');
  try {
    return Array.from({ length: BLOCKS }, (_, i) => {
      const b = Buffer.alloc(BS);
      readSync(fd, b, 0, BS, i * BS);
      return b;
    });
  } finally {
    closeSync(fd);
  }
}

function writeBlocks(file: string, blocks: Buffer[]): void {
  const fd = openSync(file, 'r+');
  try {
    blocks.forEach((b, i) => writeSync(fd, b, 0, BS, i * BS));
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs a verifying randrw probe on 16 blocks; once it has run 300 ms, pauses it, lets `tamper`
 * rewrite the blocks (from what they hold then), resumes it and returns its JSON output.
 */
async function tamperDuringRun(name: string, tamper: (blocks: Buffer[]) => Buffer[]): Promise<{ out: Record<string, any>; before: Buffer[] }> {
  const file = join(tmp.dir, `${name}.dat`);
  const child = spawn(probeBinaryPath(), ['block', `--file=${file}`, `--size=${BS * BLOCKS}`, `--bs=${BS}`, '--pattern=randrw', '--verify', '--duration=1500ms', '--warmup=0ns'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const t0 = Date.now();
  let laidOut = false;
  while (!laidOut && Date.now() - t0 < 10_000) {
    await new Promise((r) => setTimeout(r, 5));
    try {
      laidOut = header(readBlocks(file)[BLOCKS - 1]!).magic === MAGIC;
    } catch {
      /* not created yet */
    }
  }
  if (!laidOut) throw new Error(`the probe never laid out its pattern: ${stdout} ${stderr}`);
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGSTOP');
  let before: Buffer[];
  try {
    before = readBlocks(file);
    writeBlocks(file, tamper(before));
  } finally {
    child.kill('SIGCONT');
  }
  const code = await exited;
  let out: Record<string, any>;
  try {
    out = JSON.parse(stdout.trim().split('\n').pop()!);
  } catch {
    throw new Error(`the probe exited with ${code} and printed no JSON: ${stdout} ${stderr}`);
  }
  if (code === 0) return { out: { result: out }, before };
  return { out, before };
}

test('the re-implemented block format reproduces what the probe wrote (so the crafted blocks below are real ones)', async (t) => {
  const { before } = await tamperDuringRun('format', (b) => b);
  const nonce = header(before[0]!).nonce;
  for (let i = 0; i < BLOCKS; i++) {
    const h = header(before[i]!);
    t.is(h.magic, MAGIC);
    t.is(h.offset, BigInt(i * BS));
    t.is(h.nonce, nonce, 'one nonce per run');
    t.true(h.gen === 0n || h.gen === 1n);
    t.true(fillBlock(h.offset, nonce, h.gen).equals(before[i]!), `block ${i}, generation ${h.gen}`);
  }
  t.true(before.some((b) => header(b).gen === 1n), 'after 300 ms of randrw some blocks hold this run\'s writes');
});

test('an untouched verifying run passes (the control)', async (t) => {
  const { out } = await tamperDuringRun('control', (b) => b);
  t.falsy(out.error, JSON.stringify(out.error));
  t.is(out.result.verify.mismatches, 0);
  t.true(out.result.verify.blocks_checked > 100);
});

test('blocks overwritten by another process: EVERIFY with the offset and "not this run\'s data"', async (t) => {
  const { out } = await tamperDuringRun('overwritten', (b) => b.map(() => Buffer.alloc(BS, 0x5a)));
  t.is(out.error?.code, 'EVERIFY', JSON.stringify(out));
  t.regex(out.error.message, /^--verify: \d+ of \d+ blocks did not hold what was written; first at offset \d+: not this run's data: no isoprobe block header \(overwritten by something else\)$/);
  const offset = Number(/first at offset (\d+)/.exec(out.error.message)![1]);
  t.true(offset % BS === 0 && offset < BS * BLOCKS);
});

test('stale blocks (the layout generation where this run had written): EVERIFY "stale"', async (t) => {
  const { out, before } = await tamperDuringRun('stale', (b) => b.map((blk) => {
    const h = header(blk);
    return fillBlock(h.offset, h.nonce, 0n);
  }));
  t.true(before.filter((b) => header(b).gen === 1n).length >= 8, 'most blocks had been written when they were made stale');
  t.is(out.error?.code, 'EVERIFY', JSON.stringify(out));
  t.regex(out.error.message, /first at offset \d+: stale: the layout's content, though this run's write of it had completed \(a lost write\)$/);
});

test('misplaced blocks (each holds its neighbour\'s): EVERIFY "misplaced" naming the offset it belongs to', async (t) => {
  const { out } = await tamperDuringRun('misplaced', (b) => b.map((_, i) => b[(i + 1) % BLOCKS]!));
  t.is(out.error?.code, 'EVERIFY', JSON.stringify(out));
  const m = /first at offset (\d+): misplaced: it holds the block written for offset (\d+)$/.exec(out.error.message);
  t.truthy(m, out.error.message);
  t.is(Number(m![2]), (Number(m![1]) + BS) % (BS * BLOCKS), 'the neighbour\'s offset');
});

// Shared test helpers: private temp directories, the probe binary, independent page-cache counts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ExecutionContext } from 'ava';

import { OWNER } from '../lib/owner';
import { probeBinaryPath } from '../lib/paths';

/** A fresh 0700 directory under the system temp dir (or ISOPROBE_TEST_DIR), removed by the caller. */
export function tempDir(prefix = 'isoprobe-test-'): { dir: string; cleanup: () => void } {
  // The maker's mark in the name, as isoprobe's own folders have it: a killed worker's folder is swept by the next run.
  const dir = mkdtempSync(join(process.env.ISOPROBE_TEST_DIR || tmpdir(), `${prefix}${OWNER}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resident bytes of a file in the page cache, counted by util-linux fincore (not by isoprobe). */
export function fincoreBytes(path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());
}

/**
 * Page-cache pages the kernel has taken away so far, machine-wide: file pages reclaimed by kswapd,
 * direct or cgroup reclaim (`pgsteal_file`), plus writes to drop_caches (`drop_pagecache`), from
 * /proc/vmstat. An invalidation a test asks for itself (POSIX_FADV_DONTNEED) counts in neither.
 */
export function pageCacheLosses(): number {
  const vmstat = readFileSync('/proc/vmstat', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(vmstat)?.[1] ?? 0);
  return field('pgsteal_file') + field('drop_pagecache');
}

/**
 * Runs a test body that compares a residency count taken in a run with fincore's, read after it.
 * Nothing touches the file in between, so the two can differ honestly only when the kernel took
 * pages away meanwhile (memory pressure; this machine is a VM that shares its host): an attempt
 * that failed while pageCacheLosses() moved is discarded and run again, after a pause, up to
 * `attempts` times; the last attempt counts as it is. An attempt that failed on a calm kernel is
 * the test's verdict at once, so a counting bug fails every time.
 */
export async function onCalmPageCache(t: ExecutionContext, body: (tt: ExecutionContext) => Promise<void>, attempts = 4): Promise<void> {
  for (let i = 1; ; i++) {
    const before = pageCacheLosses();
    const attempt = await t.try(body);
    const lost = pageCacheLosses() - before;
    if (attempt.passed || lost === 0 || i === attempts) {
      if (!attempt.passed && lost > 0) t.log(`the kernel reclaimed page cache during each of ${attempts} attempts (the last: /proc/vmstat pgsteal_file + drop_pagecache moved by ${lost})`);
      attempt.commit();
      return;
    }
    t.log(`attempt ${i} failed while the kernel reclaimed page cache (/proc/vmstat pgsteal_file + drop_pagecache moved by ${lost}): again`);
    attempt.discard();
    await sleep(1000);
  }
}

/** SHA-256 of a file by coreutils sha256sum: the reference a probe's self-computed hash must match. */
export function sha256sum(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!;
}

export function runProbe(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(probeBinaryPath(), args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'bin', 'isoprobe.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const isRoot = process.getuid?.() === 0;

/**
 * A command's stderr without the sweep's notice (`isoprobe: removed what isoprobe runs that are gone
 * left behind: ...`): a test that kills runs on purpose (test/targets/sweep.test.ts) may leave, for
 * a moment, what a concurrently running command then sweeps and names. For checks of a message that
 * comes after a command has started making things.
 */
export function withoutSweepNotice(stderr: string): string {
  return stderr.split('\n').filter((l) => !l.startsWith('isoprobe: removed what isoprobe runs that are gone left behind: ')).join('\n');
}

/** Fast workload settings for tests: short warm-up and run. */
export const QUICK = { size: '8M', duration: '200ms', warmup: '50ms' } as const;

/**
 * `test`, or `test.skip` when a reason is given: a missing kernel feature, device or binary is a
 * skip with its reason in the title, never a pass. Use as `testIf(reason)(title + why(reason), fn)`.
 */
export function testIf<T>(reason: string | undefined, t: T & { skip: unknown }): T {
  return (reason ? t.skip : t) as T;
}

export function why(reason: string | undefined): string {
  return reason ? ` [skipped: ${reason}]` : '';
}

/**
 * Availability of targets, decided before tests are declared (ava needs skips up front): a child
 * process runs each target's own check and reports {name: reason | null}.
 */
export function targetSkips(names: string[]): Map<string, string | undefined> {
  if (!isRoot) {
    if (requiredTargets().some((n) => names.includes(n))) throw new Error(`ISOPROBE_REQUIRE_TARGETS names targets that need root, and this test runs as uid ${process.getuid?.()}`);
    return new Map(names.map((n) => [n, 'needs root']));
  }
  const script = `const { makeTarget } = require(${JSON.stringify(join(__dirname, '..', 'lib', 'targets'))});
    (async () => { const out = {}; for (const n of ${JSON.stringify(names)}) { const a = await makeTarget(n).available(); out[n] = a.ok ? null : a.reason; }
      process.stdout.write(JSON.stringify(out)); })().catch((e) => { process.stderr.write(String(e)); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 300_000 });
  // An exception in an availability check is isoprobe failing, never "not available": the test file fails.
  if (r.status !== 0) throw new Error(`target availability check failed: ${r.stderr}`);
  const got = JSON.parse(r.stdout) as Record<string, string | null>;
  for (const n of requiredTargets()) {
    if (names.includes(n) && got[n]) throw new Error(`target ${n} must work on this machine (ISOPROBE_REQUIRE_TARGETS), but: ${got[n]}`);
  }
  return new Map(names.map((n) => [n, got[n] ?? undefined]));
}

/** Targets whose tests must not skip here (CI names them: host, the containers, QEMU under TCG). */
export function requiredTargets(): string[] {
  return (process.env.ISOPROBE_REQUIRE_TARGETS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser tests cannot run here, or undefined. */
export const chromiumSkip = require('node:fs').existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (Debian package chromium; scripts/setup.sh report installs it)`;

/** Debian's headless Chromium through playwright-core, closed whatever happens. */
export async function withChromium<T>(fn: (browser: import('playwright-core').Browser) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/**
 * A report file opened in a page of `browser`, 1000 x 900: `problems` collects what the page
 * complained of (console errors and warnings, uncaught errors) and any fetch that is not a file:
 * a report must open offline and clean.
 */
export async function openReport(browser: import('playwright-core').Browser, file: string): Promise<{ page: import('playwright-core').Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`fetched ${r.url()}`); });
  await page.goto(`file://${file}`);
  return { page, problems };
}

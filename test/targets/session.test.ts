// The one session type over a runner: what the session does the same for every target (plan,
// write rule, placement, cache hooks, probe check, result assembly) seen through a runner written
// here, the way a new target would be added. The probe it runs is the real one, on this host.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { probeBinaryPath } from '../../lib/paths';
import { fileSha256 } from '../../lib/probe/block';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { exec } from '../../lib/targets/exec';
import { ensureDataFile, type PlannedStep, type ProbeRunner, ProbeSession, type StepHooks, type StepOutcome } from '../../lib/targets/session';
import type { StackInfo, Workload } from '../../lib/targets/types';
import { fincoreBytes, onCalmPageCache, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const SHORT = { duration: '200ms', warmup: '20ms' };

/** A runner as a new target would write one: it records what the session gives it. */
class RecordingRunner implements ProbeRunner {
  readonly executions: PlannedStep[][] = [];
  readonly events: string[] = [];
  readonly link = undefined;
  readonly dataIsDevice = false;
  stack: StackInfo;
  constructor(readonly wholeSuite: boolean, readonly hostDataFile: string, readonly dataPathInside = hostDataFile,
    private readonly fail?: (s: PlannedStep) => Error | undefined) {
    this.stack = { target: 'recording', kind: 'host', runtime: 'none', runtime_version: 'test', storage: 'file', network: 'loopback',
      cgroup_limits: 'none', probe_sha256: fileSha256(probeBinaryPath()), emulated: false };
  }

  async execute(steps: PlannedStep[], hooks: StepHooks): Promise<StepOutcome[]> {
    this.executions.push(steps);
    const out: StepOutcome[] = [];
    for (const [k, s] of steps.entries()) {
      const err = this.fail?.(s);
      if (err) {
        out.push({ error: err });
        continue;
      }
      if (s.cold) {
        hooks.before(k);
        this.events.push(`before ${k}`);
      }
      out.push({ output: await exec([probeBinaryPath(), ...s.args!], { timeoutMs: s.budgetMs + 30_000 }) });
      if (s.cold) {
        hooks.after(k);
        this.events.push(`after ${k}`);
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.events.push('stop');
  }
}

const SUITE: Workload[] = [
  // invalidate: false, so only the session's eviction at "before" can drop what the host cached.
  { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, invalidate: false, size: '4M', ...SHORT } },
  { kind: 'block', options: { pattern: 'randwrite', bs: '4k', direct: true, size: '4M', ...SHORT } },
  // Buffered: it fills the host's page cache, so the verdict shows where the hooks stand.
  { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: false, size: '4M', ...SHORT } },
  { kind: 'rr', options: { size: 64, ...SHORT }, placement: 'loopback' },
];

test('a whole-suite runner gets every workload in one execution, planned once: write rule, --loopback without an address, cold steps hooked', (t) => onCalmPageCache(t, async (t) => {
  const file = join(tmp.dir, 'whole.dat');
  await ensureDataFile(file, 4 << 20);
  readFileSync(file);  // the whole file in the host's page cache: the session must drop it
  t.is(fincoreBytes(file), 4 << 20);
  const runner = new RecordingRunner(true, file);
  const s = new ProbeSession(runner);
  const rs = await s.runSuite(SUITE);
  await s.stop();
  t.deepEqual(rs.filter((x) => x instanceof Error).map((x) => (x as Error).message), [], 'every workload has its result');
  t.is(runner.executions.length, 1, 'one execution (a VM: one boot) for the suite');
  const [d, w, r, n] = runner.executions[0]!;
  t.true(w!.args!.includes('--destructive=true'), 'a writing workload is told the file is isoprobe\'s own');
  t.false([d, r].some((x) => x!.args!.includes('--destructive=true')), 'reading ones are not');
  t.deepEqual(n!.args!.slice(0, 3), ['net', 'rr', '--loopback']);
  t.false(n!.args!.some((a) => a.startsWith('--connect')), 'no invented address for a loopback workload');
  t.deepEqual([d!.cold, w!.cold, r!.cold, n!.cold], [true, true, true, false]);
  t.deepEqual(runner.events, ['before 0', 'after 0', 'before 1', 'after 1', 'before 2', 'after 2', 'stop']);
  const cache = (x: unknown) => (x as { host_page_cache: { mode: string; resident_bytes_after: number } }).host_page_cache;
  const [bd, bw, br, nr] = rs as unknown as [BlockResult, BlockResult, BlockResult, NetResult];
  t.is(bw.options.pattern, 'randwrite');
  t.is(br.options.pattern, 'randread');
  t.is(nr.kind, 'tcp_rr');
  t.true(nr.transactions > 0);
  // Each verdict is counted at the runner's "after" of its own step: the O_DIRECT reads left
  // nothing (the pages read in above were dropped at "before"), nor did the O_DIRECT writes;
  // the buffered reads left what fincore counts now (nothing touched the file after them).
  t.deepEqual(cache(bd), { ...cache(bd), mode: 'bypassed', resident_bytes_before: 0, resident_bytes_after: 0 });
  t.is(cache(bw).mode, 'bypassed');
  const resident = fincoreBytes(file);
  t.true(resident > 0);
  t.is(cache(br).mode, 'used');
  t.is(cache(br).resident_bytes_after, resident);
  t.is((nr as { host_page_cache?: unknown }).host_page_cache, undefined, 'a network workload has no cache verdict');
  t.is((rs[0] as unknown as { target: StackInfo }).target.target, 'recording', 'the runner\'s stack is on every result');
}));

test('a per-workload runner gets one execution per workload; a failing step fails alone; a foreign probe is refused', async (t) => {
  const file = join(tmp.dir, 'each.dat');
  await ensureDataFile(file, 4 << 20);
  const runner = new RecordingRunner(false, file, file, (s) => (s.w.kind === 'rr' ? new IsoprobeError('EGUEST', 'the step failed in the target') : undefined));
  const rs = await new ProbeSession(runner).runSuite(SUITE);
  t.is(runner.executions.length, 4);
  t.deepEqual(rs.slice(0, 3).filter((r) => r instanceof Error).map((r) => (r as Error).message), [], 'the three that do not fail have their results');
  t.is((rs[3] as Error).message, 'the step failed in the target');
  // A probe whose own hash is not the placed one's: the result is refused, naming both.
  runner.stack = { ...runner.stack, probe_sha256: 'f'.repeat(64) };
  const e = await t.throwsAsync(new ProbeSession(runner).run(SUITE[0]!));
  t.regex(e!.message, /the probe that ran in recording has sha256 [0-9a-f]{64}, not f{64}/);
});

test('options are refused at planning, before the runner sees the workload, and only that workload fails', async (t) => {
  const file = join(tmp.dir, 'bad.dat');
  await ensureDataFile(file, 4 << 20);
  const runner = new RecordingRunner(true, file);
  const rs = await new ProbeSession(runner).runSuite([
    { kind: 'block', options: { bs: '3k', direct: true, ...SHORT } },
    { kind: 'rr', options: { size: 64, ...SHORT }, placement: 'client-inside' },
    SUITE[0]!,
  ]);
  t.regex((rs[0] as IsoprobeError).message, /--bs/);
  t.regex((rs[1] as IsoprobeError).message, /placement client-inside needs the session's network/);
  t.false(rs[2] instanceof Error);
  t.is(runner.executions.length, 1);
  t.is(runner.executions[0]!.length, 1, 'only the valid workload reached the runner');
});

test('a data file that is neither a file nor a block device is refused naming it, before any probe runs', async (t) => {
  const e = await t.throwsAsync(ensureDataFile(tmp.dir, 4 << 20));
  t.is(e!.message, `data file "${tmp.dir}" (--data-file, or a target's data_file=): a directory; expected a regular file, a block device, or a path where isoprobe may create the file`);
  t.is((e as IsoprobeError).option, 'data_file');
});

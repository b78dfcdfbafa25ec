// isoprobe sweep as a user runs it: the command as its own process, its table with the knee, the
// run stored (isoprobe history, export), the report's curve chart opened in headless Chromium; and
// bad input refused naming the option and the value, before anything runs.
import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromiumSkip, openReport, runCli, tempDir, testIf, why, withChromium } from '../helpers';
import { allowedCpus, ioUringSkip } from '../machine';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const refusals: [string[], RegExp][] = [
  [['block', '--qd', '1,4', '--jobs', '1,2'], /give one swept option, not --qd and --jobs/],
  [['block', '--qd', '4'], /expected one option with a comma-separated list of values; sweepable here: --qd, --jobs, --bs, --batch/],
  [['block', '--qd', '1,x'], /--qd "x": expected a whole number/],
  [['block', '--qd', '2,2'], /--qd 2,2: a value is given twice/],
  [['net', 'rr', '--duration', '1s,2s'], /expected one option with a comma-separated list/],
  [['block', '--qd', '1,2', '--file', '/tmp/x'], /--file: isoprobe sweep places the data file/],
];
for (const [args, message] of refusals) {
  test(`isoprobe sweep ${args.join(' ')}: refused, exit 2, nothing run`, (t) => {
    const db = join(tmp.dir, `refused-${args.join('')}.db`.replace(/[^\w.-]/g, ''));
    const r = runCli(['sweep', '--db', db, ...args]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.false(existsSync(db), 'no run was stored');
  });
}

// io_uring where the probe's own io_uring_setup works; pinned to a CPU this process may use.
const sweepSkip = chromiumSkip ?? ioUringSkip();
const cpu = String(allowedCpus()[0]);
testIf(sweepSkip, test.serial)('a qd sweep on the host: a curve per target with its knee, stored as one run, drawn in the report' + why(sweepSkip), async (t) => {
  const db = join(tmp.dir, 'sweep.db');
  const html = join(tmp.dir, 'sweep.html');
  const r = runCli(['sweep', '--targets', 'host', '--reps', '2', '--db', db, '--html', html, '--data-file', join(tmp.dir, 'd.dat'), '--data-size', '16M',
    'block', '--engine', 'io_uring', '--direct', '--qd', '1,4,16', '--size', '16M', '--duration', '300ms', '--warmup', '50ms', '--cpus', cpu]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^sweep block over --qd: 1, 4, 16 {2}\(2 repetitions, interleaved\)/);
  const rows = r.stdout.split('\n').filter((l) => /^ {2}(1|4|16) /.test(l));
  t.is(rows.length, 3, r.stdout);
  t.is(rows.filter((l) => l.endsWith('<- knee')).length, 1, 'one knee');
  t.regex(r.stdout, /knee: the highest throughput whose p99 stays within 2x of the curve's lowest p99/);
  const hist = runCli(['history', '--db', db]);
  t.regex(hist.stdout, /suite sweep block qd/);
  const exp = JSON.parse(runCli(['export', '--db', db, hist.stdout.trim().split(/\s+/)[0]!]).stdout) as { results: { workload: string }[] };
  t.deepEqual([...new Set(exp.results.map((x) => x.workload))].sort(), ['qd=1', 'qd=16', 'qd=4'], 'each point a workload of the run');
  await withChromium(async (browser) => {
    const { page, problems } = await openReport(browser, html);
    const chart = page.locator('svg.sweep');
    t.is(await chart.count(), 1);
    t.is(await chart.locator('path').count(), 2, 'the p50 and p99 lines of one target');
    t.is(await chart.locator('circle.knee').count(), 1, 'the knee circled');
    t.regex(await chart.locator('text').evaluateAll((ts) => ts.map((x) => x.textContent).join(' ')), /knee qd=\d+/);
    const box = await chart.boundingBox();
    t.true(box!.width > 300 && box!.height > 150, `drawn ${box!.width}x${box!.height}`);
    const shots = join(process.cwd(), 'test-results');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'sweep.png'), fullPage: true });
    t.deepEqual(problems, []);
  });
});

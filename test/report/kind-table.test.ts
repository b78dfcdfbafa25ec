// A workload kind is its entry in lib/compare/kinds.ts: one added there and nowhere else is found by
// the target's text, the network text, and the command line's words and usage (the CLI's words
// expand through the same table); a registry metric of a kind shows in that kind's network text.
import test from 'ava';

import { expandKindWord, type KindFacts, KINDS, kindOfWorkload, netUsageLines, netWords, workloadWords } from '../../lib/compare/kinds';
import { METRIC_DEFS, type MetricDef } from '../../lib/compare/metrics';
import type { NetResult } from '../../lib/probe/types';
import { formatNetResult } from '../../lib/report/net-text';
import { formatTargetResult } from '../../lib/report/target-text';
import type { TargetResult } from '../../lib/targets/types';

/** A kind no table has: SCTP bulk throughput, measured by the stream mode over --proto sctp. */
const SCTP: KindFacts = {
  mode: 'stream', proto: 'sctp' as never, latency: false, network: true, rate: 'gbps', op: { unit: 'B', word: 'byte' },
  ops: (r) => (r as NetResult).bytes_sent, cpuIsWindow: false,
  cli: { word: 'sctp-stream', flags: ['--proto=sctp'], help: 'made-up SCTP bulk throughput' },
};

/** A network result as the probe writes one (net_json.cc), of any kind, inside a target's result. */
function netResult(kind: string, extra: Record<string, unknown> = {}): TargetResult {
  return {
    schema: 1, kind, probe: { build: 'addon', version: '0' }, peer: '127.0.0.1:9',
    options: { mode: 'stream', proto: 'sctp', size: 131072, rate: 0, reverse: false, duration: 1e9, streams: 1, conns: 1, arrival: 'uniform', backend: 'blocking', server_cpus: '' },
    transactions: 0, elapsed_ns: 1e9, bytes_sent: 250_000_000, bytes_received: 0, bits_per_s: 2e9, counted_at: 'sender',
    errors: { mismatches: 0, lost: 0, late_replies: 0 }, cpu: { scope: 'client', user_ns: 1e6, sys_ns: 2e8, utilization: 0.2 },
    clock: { source: 'monotonic', cost_ns: 20, kernel_clocksource: 'tsc' }, env: { kernel: '6.1', cpus: 2 },
    target: { target: 'host', emulated: false, runtime: 'none', runtime_version: '-', storage: 'host', network: 'loopback', probe_sha256: 'ab' },
    ...extra,
  } as unknown as TargetResult;
}

/** What each reader of the kinds table shows of a made-up SCTP stream. */
function shown() {
  const r = netResult('sctp_stream');
  const text = (f: () => string) => { try { return f(); } catch (e) { return `threw: ${(e as Error).message}`; } };
  return {
    target: text(() => formatTargetResult(r)), net: text(() => formatNetResult(r as unknown as NetResult)),
    usage: netUsageLines().join('\n'), words: netWords(), workloads: workloadWords(), expanded: expandKindWord(['net', 'sctp-stream', '--size', '4k'], 1),
    kind: text(() => kindOfWorkload({ kind: 'stream', options: { proto: 'sctp' } as never })),
  };
}

test.serial('a kind added to the kinds table alone reaches the target text, the network text, the CLI words and usage', (t) => {
  const before = shown();
  t.regex(before.target, /^threw/, `no text for a kind the table lacks: ${before.target}`);
  t.notRegex(before.usage, /sctp/);
  t.false(before.words.includes('sctp-stream'));
  t.deepEqual(before.expanded, ['net', 'sctp-stream', '--size', '4k'], 'a word no kind claims is left for the CLI to refuse');

  (KINDS as Record<string, KindFacts>).sctp_stream = SCTP;
  try {
    const after = shown();
    for (const [where, s] of [['target text', after.target], ['net text', after.net]] as const) {
      t.regex(s, /^sctp_stream {2}128 KiB messages {2}1 stream$/m, `${where}: its head line, its mode's parallelism`);
      t.regex(s, /^ {2}result {6}2\.00 Gbit\/s {3}238 MiB in 1\.00 s \(warm-up excluded, counted at the sender\)$/m, `${where}: its rate metric and its operations (bytes)`);
      t.notRegex(s, /round trip/, `${where}: no latency line for a kind without latency`);
    }
    t.regex(after.target, /^host\n/, 'the net text inside the target\'s block');
    t.regex(after.target, /^ {2}probe {7}sha256 ab$/m);
    t.regex(after.usage, /^ {2}isoprobe net sctp-stream \(--connect ADDR:PORT \| --loopback\) \[options\] +made-up SCTP bulk throughput$/m, 'a usage line of its own');
    t.deepEqual(after.words, ['rr', 'stream', 'udp-stream', 'sctp-stream']);
    t.is(after.workloads, 'block|net rr|net stream|net udp-stream|net sctp-stream', 'what run and sweep take');
    t.deepEqual(after.expanded, ['net', 'stream', '--size', '4k', '--proto=sctp'], 'its word is its mode with the flags it implies');
    t.is(after.kind, 'sctp_stream', 'the workload the words give is that kind');
  } finally {
    delete (KINDS as Record<string, KindFacts>).sctp_stream;
  }
});

test('the words of the kinds there are: one per word, udp_rr being rr --proto udp; a word that is its mode expands to itself', (t) => {
  t.deepEqual(netWords(), ['rr', 'stream', 'udp-stream']);
  t.is(workloadWords(), 'block|net rr|net stream|net udp-stream');
  t.deepEqual(expandKindWord(['net', 'udp-stream', '--rate', '1000'], 1), ['net', 'stream', '--rate', '1000', '--proto=udp']);
  t.deepEqual(expandKindWord(['rr', '--size', '64'], 0), ['rr', '--size', '64']);
  t.deepEqual(expandKindWord(['serve'], 0), ['serve'], 'serve is the CLI\'s own, no kind');
});

/** A UDP stream's result (net_json.cc's udp_stream member), 1,600 of 2,000 datagrams received. */
const udp = () => netResult('udp_stream', {
  options: { mode: 'stream', proto: 'udp', size: 1472, rate: 2000, reverse: false, duration: 1e9, streams: 1, conns: 1, arrival: 'uniform', backend: 'blocking', server_cpus: '' },
  counted_at: 'receiver', bits_per_s: 1600 * 1472 * 8,
  udp_stream: { sent: 2000, received: 1600, lost: 400, loss: 0.2, out_of_order: 0, dropped_by_test_hook: 0, jitter_ns: 3000, sent_pps: 2000, pps: 1600, rate: 2000, warmup_sent: 0, streams: [] },
});

/** A metric of UDP streams the registry does not have. */
const REORDER: MetricDef = {
  name: 'made_up_reorder', title: 'datagrams out of order, % of those received', unit: '%', better: 'lower', kinds: ['udp_stream'], gated: [], thresholdClass: 'count',
  value: (r) => (r as unknown as NetResult).udp_stream?.out_of_order, format: (v) => `${v.toFixed(1)} % reordered`, column: { head: 'reorder' },
};

test.serial('a network kind\'s text shows the registry\'s metrics of that kind: a UDP stream\'s loss and jitter, and one added to the registry alone', (t) => {
  const before = formatNetResult(udp() as unknown as NetResult);
  t.regex(before, /^udp_stream {2}1\.4 KiB messages {2}1 stream {2}paced at 2,000\/s$/m);
  t.regex(before, /^ {2}result {6}1,600 pkt\/s {3}1,600 datagrams in 1\.00 s \(warm-up excluded, counted at the receiver\)$/m, 'its rate: the receiver\'s datagrams/s');
  t.regex(before, /^ {2}loss {8}20\.00 %$/m, 'the loss entry\'s head and format');
  t.regex(before, /^ {2}jitter {6}3\.00 µs$/m);
  t.notRegex(before, /host\/|xprobe|reorder/, 'no host-side cost in the probe\'s text, no metric the registry lacks');

  (METRIC_DEFS as unknown as MetricDef[]).push(REORDER);
  try {
    t.regex(formatNetResult(udp() as unknown as NetResult), /^ {2}reorder {5}0\.0 % reordered$/m, 'its line, headed and formatted as its entry says');
    t.notRegex(formatNetResult(netResult('tcp_stream') as unknown as NetResult), /reorder/, 'and only for the kinds it names');
  } finally {
    (METRIC_DEFS as unknown as MetricDef[]).pop();
  }
});

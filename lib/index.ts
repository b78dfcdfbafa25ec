// isoprobe's library entry: re-exports only.
export { IsoprobeError, type ErrorCode } from './errors';
export { runBlock, checkBlockOptions, fileSha256, type RunControl } from './probe/block';
export { BLOCK_OPTIONS, normalizeBlockOptions, toProbeFlags, ENGINES, PATTERNS, CLOCKS, type BlockOptions, type BlockInput, type Engine, type Pattern } from './probe/options';
export { runNet, runNetLoopback, startEchoServer, spawnEchoServer, checkNetOptions, type EchoServerHandle } from './probe/net';
export { NET_OPTIONS, normalizeNetOptions, isLoopbackAddress, type NetOptions, type NetInput, type NetMode } from './probe/net-options';
export { formatNetResult } from './report/net-text';
export type { NetResult } from './probe/types';
export type { BlockResult, LatencyJson, HistogramJson, ProgressEvent, ClockJson, EnvJson } from './probe/types';
export { percentile, mergeHistograms, histogramOf, summarize, bucketIndex, bucketLow, bucketHigh } from './stats/histogram';
export { parseSize, parseDuration, formatBytes, formatNs } from './units';
export { formatBlockResult } from './report/block-text';
export { main } from './cli';
// Targets: the registry, sessions (start, run, runSuite, stop), availability.
export { REGISTRY, TARGET_NAMES, isTargetName, makeTarget, type TargetEntry, type TargetName } from './targets';
export type { Target, Session, SessionSpec, Workload, TargetResult, StackInfo, Availability, Placement } from './targets';
export type { VmSpec, BootTimes } from './targets/types';
export { ProbeSession, execSession, type ProbeRunner, type PlannedStep, type StepHooks, type StepOutcome, type SessionParts } from './targets/session';
export { findLeftovers, type Leftovers } from './targets/leftovers';
// Where the time goes: the host-side eBPF tracer and the attribution of block results.
export { traceUnavailable, HostTrace, attribute, type TraceSpec, type TraceWindow, type Attribution, type AttributionField } from './trace';
// Comparisons, suites, the A/B gate, the results store and the reports.
export { compare, checkSameProbe, summarize as summarizeComparison, type CompareOptions, type Comparison, type Cell, type Row, type WorkloadSummary } from './compare/compare';
export { QUICK, PAPER, loadSuite, parseSuite, type Suite, type SuiteWorkload } from './compare/suites';
export { loadSide, METRICS, type Metric, type Side } from './compare/ab';
export { abCompare, suiteGate, gateExitCode, type AbOutcome, type GateOutcome, type GateCell, type GateOptions } from './compare/gate';
export { Store, defaultDbPath, type RunRow, type ResultRow } from './store/db';
export { renderHtml } from './report/html';
export { formatComparison } from './report/compare-text';
export { formatTargetResult } from './report/target-text';
export { formatGate, gateMarkdown, gateJUnit, gateSummaryLine } from './report/gate-text';
export { trendSeries, renderTrendHtml, type TrendSeries } from './report/trend';
export { importRuns, readRuns } from './store/import';

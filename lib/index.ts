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

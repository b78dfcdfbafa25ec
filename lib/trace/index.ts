// The host-side tracer's API: whether it can run here, a trace of some processes' I/O on one data
// file, and the attribution of a block result from that trace. A session uses StepTraces.
export { traceUnavailable } from './available';
export { HostTrace, type TraceSpec, type TraceWindow } from './tracer';
export { attribute, type Attribution, type AttributionField, type Layer, type LayerSummary, type PerOp, type Split } from './attribution';
export { matchOps, hostCalls, type HostCall, type Matched } from './match';
export { StepTraces, ATTRIBUTION_SAMPLE, recordBudget } from './step';
export { syscallName, syscallNumber } from './syscalls';
export { attributeNet, type NetAttribution, type NetAttributionField, type NetSplit } from './net-attribution';
export { NetStepTraces } from './net-step';

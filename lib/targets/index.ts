// Every target isoprobe knows, by name: see registry.ts.
export { isTargetName, makeTarget, REGISTRY, TARGET_NAMES, type TargetEntry, type TargetName } from './registry';
export type { Target, Session, SessionSpec, Workload, TargetResult, StackInfo, Availability, Placement } from './types';

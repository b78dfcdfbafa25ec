// A container's part in the host-cost accounting: its scope (cgroup, gVisor's processes, shim)
// from its main process, and its start-up from the launch call to that process running.
import { startupOf } from '../cost/meter';
import { monoNs } from '../cost/sample';
import { containerScope } from '../cost/scope';
import type { SessionParts } from './session';

/**
 * The cost parts of a container session: `launchedNs` taken right before the runtime's create or
 * run command, the main pid (the probe serving as the container's process) once it runs.
 */
export function containerCostParts(mainPid: number, launchedNs: number, id: string, gvisor: boolean): Pick<SessionParts, 'scope' | 'startup' | 'sameClock'> {
  const readyNs = monoNs();
  const scope = containerScope(mainPid, gvisor ? id : undefined);
  return {
    scope,
    // gVisor's Sentry keeps its own clocks: the probe's mark times are not the host's there.
    sameClock: !gvisor,
    startup: startupOf(scope, launchedNs, readyNs, "launch call -> the container's process (the probe serving) running: create + start"),
  };
}

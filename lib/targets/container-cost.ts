// A container's part in the host-cost accounting: its scope (cgroup, a sandbox's processes, shim)
// from its main process and the names its target declares, and its start-up from the launch call to that process running.
import { startupOf } from '../cost/meter';
import { monoNs } from '../cost/sample';
import type { ProcessNames } from '../cost/roles';
import { containerScope } from '../cost/scope';
import type { SessionParts } from './session';

/**
 * The cost parts of a container session: `launchedNs` taken right before the runtime's create or
 * run command, the main pid (the probe serving as the container's process) once it runs; `names`
 * give the target's own processes their roles.
 */
export function containerCostParts(mainPid: number, launchedNs: number, id: string, gvisor: boolean, names: ProcessNames): Pick<SessionParts, 'scope' | 'startup' | 'sameClock'> {
  const readyNs = monoNs();
  const scope = containerScope(mainPid, names, gvisor ? id : undefined);
  return {
    scope,
    // gVisor's Sentry keeps its own clocks: the probe's mark times are not the host's there.
    sameClock: !gvisor,
    startup: startupOf(scope, launchedNs, readyNs, "launch call -> the container's process (the probe serving) running: create + start"),
  };
}

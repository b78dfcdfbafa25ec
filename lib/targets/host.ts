// The host: the same static probe as in containers and guests, as a child process. Network
// workloads cross a veth pair between two namespaces isoprobe made, like the container targets.
import { release } from 'node:os';

import { ownCgroup } from '../cost/cgroup';
import { spawnEchoServer } from '../probe/net';
import { exec } from './exec';
import { ECHO_SERVICE_SETTING, PROBE_SETTINGS, RELAY_SETTING, type TargetDeclaration } from './settings';
import { relayNote } from './relay';
import { execSession, linkOf, prepareCommon, SERVER_PORT } from './session';
import type { Availability, Session, SessionSpec, Target } from './types';

/** The host: what it is; it takes another probe only. */
export const HOST_DECLARED: TargetDeclaration = { description: 'the static probe directly on this machine', settings: { ...PROBE_SETTINGS, ...ECHO_SERVICE_SETTING, ...RELAY_SETTING } };

export class HostTarget implements Target {
  readonly name = 'host';
  readonly kind = 'host' as const;
  readonly description = HOST_DECLARED.description;

  async available(): Promise<Availability> {
    return { ok: true, version: `Linux ${release()}` };
  }

  async start(spec: SessionSpec = {}): Promise<Session> {
    const common = await prepareCommon(spec, spec.network === true);
    const pair = common.pair;
    const probe = common.probe;
    const inA = pair ? ['nsenter', `--net=/var/run/netns/${pair.a}`] : [];
    // Like a container's main process: an echo server on the "inside" address, for server-inside.
    const server = pair
      ? await spawnEchoServer({ bind: `${pair.addrA}:${SERVER_PORT}` }, { command: [...inA, probe], check: { allowRemote: true } }).catch(async (e) => {
        await common.undo();
        throw e;
      })
      : undefined;
    // Each probe in a cgroup of isoprobe's own: its CPU over the window is the cgroup's, whole.
    const cg = ownCgroup('host');
    return execSession({
      stack: {
        target: 'host',
        kind: 'host',
        runtime: 'none',
        runtime_version: `Linux ${release()}`,
        storage: common.dataFile ? `file ${common.dataFile}` : 'none',
        network: pair ? `veth pair between two namespaces isoprobe made${relayNote(spec)}` : 'loopback',
        cgroup_limits: 'none',
        probe_sha256: common.sha,
        emulated: false,
        command: [probe],
      },
      execProbe: (args, o) => exec(cg ? cg.wrap([...inA, probe, ...args]) : [...inA, probe, ...args], o),
      scope: cg ? { processes: [], cgroup: { path: cg.path, role: 'probe' } } : undefined,
      sameClock: true,
      startup: { ns: 0, host_cpu_ns: 0, what: 'the host has no boundary to start' },
      dataPathInside: common.dataFile,
      hostDataFile: common.dataFile,
      link: linkOf(pair),
      attribution: spec.attribution,
      echoService: spec.echoService,
      relay: spec.relay || undefined,
      teardown: async () => {
        await server?.stop();
        cg?.remove();
        await common.undo();
      },
    });
  }
}

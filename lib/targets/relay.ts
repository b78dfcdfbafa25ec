// A relay of the user's (a proxy to measure, a test's delaying proxy) between the client inside a
// target and the echo server isoprobe runs on the host side (variant setting `relay`): started in
// isoprobe's peer namespace, so it reaches nothing but the target and that namespace's loopback.
import { accessSync, constants, type Stats, statSync } from 'node:fs';

import { spawnServing } from '../child';
import { IsoprobeError } from '../errors';

/** What a relay is asked to do, said once for the setting's help and the errors. */
export const RELAY_CONTRACT = 'started as `RELAY tcp|udp HOST:PORT` (the echo server) in the peer namespace, it prints the HOST:PORT it listens on as its first line and serves until SIGTERM';

/**
 * The relay setting checked before anything is made: an executable file, and a session with the
 * namespace pair it sits in (client-inside RR). Refused naming the setting, the value, what was expected.
 */
export function checkRelay(path: string, hasNetwork: boolean): void {
  const bad = (what: string) => new IsoprobeError('EINVALOPT', `relay "${path}": ${what}`, { option: 'relay' });
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw bad('expected the path of an executable file, and there is no file there');
  }
  if (!st.isFile()) throw bad('expected the path of an executable file, not a directory or a device');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw bad('expected an executable file, and it is not executable');
  }
  if (!hasNetwork) throw bad('a relay sits between a client-inside client and isoprobe\'s echo server, and this session has no network (start it with network: true)');
}

export interface RelayHandle {
  /** HOST:PORT it listens on (what the client connects to). */
  address: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it is gone. */
  stop(): Promise<void>;
}

const ADDRESS = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;

/** The relay started in namespace `peerNs` in front of `upstream` (a `proto` server), once it says where it listens. */
export async function spawnRelay(path: string, proto: string, upstream: string, peerNs: string): Promise<RelayHandle> {
  const failed = (what: string, stderr: string) => new IsoprobeError('EPROBE', `the relay ${path} ${what} (${RELAY_CONTRACT}); stderr: ${stderr}`);
  const s = await spawnServing(['nsenter', `--net=/var/run/netns/${peerNs}`, path, proto, upstream], (line, stderr) => {
    if (!ADDRESS.test(line.trim())) throw failed(`printed ${JSON.stringify(line)} where the HOST:PORT it listens on was expected`, stderr);
    return line.trim();
  }, (why, stderr) => failed(why.timeout ? 'did not print the HOST:PORT it listens on within 10 s' : `exited with code ${why.code} before printing the HOST:PORT it listens on`, stderr));
  return { address: s.first, pid: s.pid, stop: s.stop };
}

/** What a session's stack says of its relay (every result carries it), or nothing. */
export function relayNote(spec: { relay?: string }): string {
  return spec.relay ? `; client-inside requests through the relay ${spec.relay} (relay=)` : '';
}

// What isoprobe sends Firecracker and Cloud Hypervisor, checked field by field against their
// published interface definitions. The facts below were read from those files (cited per block);
// they are the reference, not isoprobe's own expectations.
import test from 'ava';

import { cloudHypervisorArgs } from '../../lib/targets/cloud-hypervisor';
import { firecrackerCalls } from '../../lib/targets/firecracker';
import type { LaunchContext, VmSpec } from '../../lib/targets/vm';

type Prop = { type: 'string' | 'integer' | 'boolean'; enum?: string[]; minimum?: number; maximum?: number };
interface Definition {
  required: string[];
  properties: Record<string, Prop>;
}

// firecracker-microvm/firecracker, src/firecracker/swagger/firecracker.yaml, API version 1.17.0-dev
// (commit 004d935399ba): the definitions of the bodies isoprobe sends, with the path each goes to.
// Nested objects isoprobe never sends (rate limiters, cpu_template) are left out.
const FIRECRACKER: Record<string, Definition> = {
  MachineConfiguration: {
    required: ['mem_size_mib', 'vcpu_count'],
    properties: {
      smt: { type: 'boolean' }, mem_size_mib: { type: 'integer' }, track_dirty_pages: { type: 'boolean' },
      vcpu_count: { type: 'integer', minimum: 1, maximum: 32 }, huge_pages: { type: 'string', enum: ['None', 'Transparent', '2M'] },
    },
  },
  BootSource: {
    required: ['kernel_image_path'],
    properties: { boot_args: { type: 'string' }, initrd_path: { type: 'string' }, kernel_image_path: { type: 'string' } },
  },
  Drive: {
    required: ['drive_id', 'is_root_device'],
    properties: {
      drive_id: { type: 'string' }, partuuid: { type: 'string' }, is_root_device: { type: 'boolean' },
      cache_type: { type: 'string', enum: ['Unsafe', 'Writeback'] }, is_read_only: { type: 'boolean' }, path_on_host: { type: 'string' },
      io_engine: { type: 'string', enum: ['Sync', 'Async'] }, socket: { type: 'string' },
    },
  },
  NetworkInterface: {
    required: ['host_dev_name', 'iface_id'],
    properties: { guest_mac: { type: 'string' }, host_dev_name: { type: 'string' }, iface_id: { type: 'string' }, mtu: { type: 'integer', minimum: 68, maximum: 65535 } },
  },
  InstanceActionInfo: {
    required: ['action_type'],
    properties: { action_type: { type: 'string', enum: ['FlushMetrics', 'InstanceStart', 'SendCtrlAltDel'] } },
  },
  Logger: {
    required: [],
    properties: { level: { type: 'string', enum: ['Error', 'Warning', 'Info', 'Debug', 'Trace', 'Off'] }, log_path: { type: 'string' }, show_level: { type: 'boolean' }, show_log_origin: { type: 'boolean' }, module: { type: 'string' } },
  },
};
// The paths of the same file (PUT operations) and the definition each body must follow.
const FIRECRACKER_PATHS: [RegExp, string][] = [
  [/^\/machine-config$/, 'MachineConfiguration'],
  [/^\/boot-source$/, 'BootSource'],
  [/^\/drives\/[^/]+$/, 'Drive'],
  [/^\/network-interfaces\/[^/]+$/, 'NetworkInterface'],
  [/^\/actions$/, 'InstanceActionInfo'],
  [/^\/logger$/, 'Logger'],
];

/** Problems of a body against a definition: missing required fields, unknown fields, wrong types, values outside an enum or range. */
function problems(body: Record<string, unknown>, def: Definition): string[] {
  const out: string[] = [];
  for (const r of def.required) if (!(r in body)) out.push(`missing required field ${r}`);
  for (const [k, v] of Object.entries(body)) {
    const p = def.properties[k];
    if (!p) {
      out.push(`unknown field ${k}`);
      continue;
    }
    const type = typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
    if (type !== p.type) out.push(`${k}: ${type}, expected ${p.type}`);
    if (p.enum && !p.enum.includes(String(v))) out.push(`${k}: ${String(v)} is not one of ${p.enum.join(', ')}`);
    if (p.minimum !== undefined && typeof v === 'number' && v < p.minimum) out.push(`${k}: ${v} below ${p.minimum}`);
    if (p.maximum !== undefined && typeof v === 'number' && v > p.maximum) out.push(`${k}: ${v} above ${p.maximum}`);
  }
  return out;
}

function ctx(spec: VmSpec = {}, over: Partial<LaunchContext> = {}): LaunchContext {
  return {
    kernel: { version: 'v', bzImage: '/k/bzImage', modules: [], source: 'test' },
    initramfs: '/w/initramfs', cmdline: 'console=ttyS0 quiet', dataFile: '/d/data.dat', tap: 'iso-tap0', mac: '02:00:00:00:00:01',
    vcpus: 2, memMiB: 512, workDir: '/w', spec, ...over,
  };
}

test('the checker itself finds each kind of problem (so a pass below means something)', (t) => {
  t.deepEqual(problems({ drive_id: 'x', is_root_device: 'no', cache_type: 'None', extra: 1 }, FIRECRACKER.Drive!), [
    'is_root_device: string, expected boolean', 'cache_type: None is not one of Unsafe, Writeback', 'unknown field extra']);
  t.deepEqual(problems({ vcpu_count: 64 }, FIRECRACKER.MachineConfiguration!), ['missing required field mem_size_mib', 'vcpu_count: 64 above 32']);
});

const SPECS: VmSpec[] = [{}, { hostCache: 'writeback', aio: 'Async' }, { hostCache: 'unsafe', aio: 'Sync' }];
for (const spec of SPECS) {
  test(`every Firecracker request body follows firecracker.yaml (${JSON.stringify(spec)})`, (t) => {
    for (const over of [{}, { dataFile: undefined, tap: undefined }, { vcpus: 1, memMiB: 128 }] as Partial<LaunchContext>[]) {
      const calls = firecrackerCalls(ctx(spec, over), '/k/vmlinux');
      t.true(calls.length >= 3);
      for (const c of calls) {
        t.is(c.method, 'PUT', c.path);
        const def = FIRECRACKER_PATHS.find(([re]) => re.test(c.path))?.[1];
        t.truthy(def, `${c.path} is a documented PUT path`);
        t.deepEqual(problems(c.body, FIRECRACKER[def!]!), [], `${c.path} ${JSON.stringify(c.body)}`);
        if (def === 'Drive') t.is(c.path, `/drives/${c.body.drive_id}`, 'the path names the drive_id of the body');
        if (def === 'NetworkInterface') t.is(c.path, `/network-interfaces/${c.body.iface_id}`);
      }
      t.is(calls.at(-1)!.body.action_type, 'InstanceStart', 'the guest starts after it is configured');
    }
  });
}

// cloud-hypervisor/cloud-hypervisor, vmm/src/config.rs (tag v53.0, commit ae44c297): the keys each
// option's parser accepts (DiskConfig::parse, NetConfig::parse, CpusConfig::parse,
// MemoryConfig::parse) and the console/serial modes (CommonConsoleConfig: off|pty|tty|null,
// file=, socket=). image_type exists since v51 (release-notes.md, v51.0).
const CH_KEYS: Record<string, string[]> = {
  '--disk': ['path', 'readonly', 'direct', 'iommu', 'num_queues', 'queue_size', 'vhost_user', 'socket', 'bw_size', 'bw_one_time_burst', 'bw_refill_time',
    'ops_size', 'ops_one_time_burst', 'ops_refill_time', 'id', 'pci_segment', 'pci_device_id', 'rate_limit_group', 'queue_affinity', 'serial', 'backing_files', 'sparse', 'image_type', 'lock_granularity'],
  '--net': ['tap', 'ip', 'mask', 'mac', 'host_mac', 'fd', 'iommu', 'num_queues', 'queue_size', 'id', 'vhost_user', 'socket', 'vhost_mode', 'bw_size', 'bw_one_time_burst', 'bw_refill_time',
    'ops_size', 'ops_one_time_burst', 'ops_refill_time', 'pci_segment', 'pci_device_id', 'offload_tso', 'offload_ufo', 'offload_csum'],
  '--cpus': ['boot', 'max', 'topology', 'kvm_hyperv', 'max_phys_bits', 'affinity', 'features', 'nested', 'core_scheduling', 'profile'],
  '--memory': ['size', 'file', 'mergeable', 'hotplug_method', 'hotplug_size', 'hotplugged_size', 'shared', 'hugepages', 'hugepage_size', 'prefault'],
};
const CH_ON_OFF = ['readonly', 'direct', 'iommu', 'vhost_user', 'backing_files', 'sparse', 'offload_tso', 'offload_ufo', 'offload_csum', 'mergeable', 'shared', 'hugepages', 'prefault'];
const CH_CONSOLE = ['off', 'pty', 'tty', 'null'];
const CH_PATH_OPTIONS = ['--kernel', '--initramfs', '--cmdline'];

for (const spec of [{ hostCache: 'none' }, { hostCache: 'writeback' }] as VmSpec[]) {
  test(`every Cloud Hypervisor argument follows its documented syntax (${JSON.stringify(spec)})`, (t) => {
    const { args } = cloudHypervisorArgs(ctx(spec), '/k/vmlinux');
    for (let i = 0; i < args.length; i += 2) {
      const [opt, value] = [args[i]!, args[i + 1]!];
      t.regex(opt, /^--[a-z-]+$/, `an option at ${i}`);
      t.truthy(value, `${opt} has a value`);
      if (CH_PATH_OPTIONS.includes(opt)) continue;
      if (opt === '--serial' || opt === '--console') {
        t.true(CH_CONSOLE.includes(value) || /^(file|socket)=/.test(value), `${opt} ${value}`);
        continue;
      }
      const keys = CH_KEYS[opt];
      t.truthy(keys, `${opt} is an option isoprobe checks`);
      for (const kv of value.split(',')) {
        const [k, v] = kv.split('=');
        t.true(keys!.includes(k!), `${opt}: key ${k} is accepted by the parser`);
        t.truthy(v, `${opt}: ${k} has a value`);
        if (CH_ON_OFF.includes(k!)) t.true(v === 'on' || v === 'off', `${opt}: ${k}=${v} is on|off`);
      }
    }
    const disk = args[args.indexOf('--disk') + 1]!;
    t.regex(disk, spec.hostCache === 'none' ? /(^|,)direct=on(,|$)/ : /(^|,)direct=off(,|$)/);
  });
}

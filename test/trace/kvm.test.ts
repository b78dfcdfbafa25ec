// Which KVM tracepoints a trace attaches, decided as the product decides on made-up tracefs and
// /sys/module folders: the events present, kvm_exit's exit_reason offset from its format file,
// and the sentence for what is not counted.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { kvmPlan } from '../../lib/trace/kvm';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

// kvm_exit's format as Linux 6.x's tracefs prints it (x86).
const FORMAT = (reasonOffset: number) => `name: kvm_exit
ID: 1794
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned int exit_reason;\toffset:${reasonOffset};\tsize:4;\tsigned:0;
\tfield:unsigned long guest_rip;\toffset:48;\tsize:8;\tsigned:0;
`;

function root(name: string, o: { tracefs?: boolean; events?: string[]; module?: boolean; reasonOffset?: number }): string {
  const r = join(tmp.dir, name);
  mkdirSync(r, { recursive: true });
  if (o.tracefs) mkdirSync(join(r, 'sys/kernel/tracing/events'), { recursive: true });
  for (const e of o.events ?? []) {
    const d = join(r, 'sys/kernel/tracing/events/kvm', e);
    mkdirSync(d, { recursive: true });
    if (e === 'kvm_exit') writeFileSync(join(d, 'format'), FORMAT(o.reasonOffset ?? 8));
  }
  if (o.module) mkdirSync(join(r, 'sys/module/kvm'), { recursive: true });
  return r;
}

const ALL = ['kvm_exit', 'kvm_set_irq', 'kvm_msi_set_irq', 'kvm_inj_virq'];

test('with every kvm event in tracefs all four are attached and exit_reason is read where the format puts it', (t) => {
  t.deepEqual(kvmPlan(root('all', { tracefs: true, events: ALL, module: true })), { events: ALL, exitReasonOffset: 8, notes: [] });
  t.is(kvmPlan(root('at12', { tracefs: true, events: ALL, module: true, reasonOffset: 12 })).exitReasonOffset, 12);
});

test('without tracefs nothing is attached, and the sentence says why and whether kvm is loaded', (t) => {
  const r = root('no-tracefs', { module: true });
  t.deepEqual(kvmPlan(r), {
    events: [],
    exitReasonOffset: 0,
    notes: [`KVM counts (kvm_exit, kvm_set_irq, kvm_msi_set_irq, kvm_inj_virq) not attached: tracefs is not mounted (no ${join(r, 'sys/kernel/tracing/events')}), so its kvm events cannot be attached; the kvm module is loaded (a TCG guest makes no VM exits either way)`],
  });
});

test('tracefs without the kvm events (no kvm module): the missing ones named', (t) => {
  const r = root('no-kvm', { tracefs: true });
  t.deepEqual(kvmPlan(r).notes, [`KVM counts (kvm_exit, kvm_set_irq, kvm_msi_set_irq, kvm_inj_virq) not attached: ${join(r, 'sys/kernel/tracing/events/kvm')}/<event> is missing; the kvm module is not loaded (a TCG guest makes no VM exits either way)`]);
});

test('an exit_reason at an offset the programs cannot read: exits counted, reason unknown, said', (t) => {
  const p = kvmPlan(root('odd', { tracefs: true, events: ['kvm_exit', 'kvm_set_irq'], module: true, reasonOffset: 40 }));
  t.deepEqual(p.events, ['kvm_exit', 'kvm_set_irq']);
  t.is(p.exitReasonOffset, 0);
  t.is(p.notes.length, 2);
  t.regex(p.notes[0]!, /^KVM counts \(kvm_msi_set_irq, kvm_inj_virq\) not attached/);
  t.regex(p.notes[1]!, /no 4-byte exit_reason at an offset the tracer reads \(8, 12, 16, 24\)/);
});

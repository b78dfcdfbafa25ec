// Which KVM tracepoints a trace attaches, decided from tracefs (under `root`, so a test can make it
// up): kvm_exit, kvm_set_irq, kvm_msi_set_irq and kvm_inj_virq where their events exist, and where
// kvm_exit's record holds exit_reason, from its format file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const KVM_EVENTS = ['kvm_exit', 'kvm_set_irq', 'kvm_msi_set_irq', 'kvm_inj_virq'] as const;

/** The offsets trace.bpf.c can read exit_reason at (the verifier takes only constant ones). */
export const EXIT_REASON_OFFSETS = [8, 12, 16, 24];

export interface KvmPlan {
  /** The events to attach. */
  events: string[];
  /** Where exit_reason lies in kvm_exit's record (0: not read). */
  exitReasonOffset: number;
  /** What is not counted, and why. */
  notes: string[];
}

/** tracefs's events folder, or undefined when tracefs is not mounted. */
function eventsDir(root: string): string | undefined {
  return ['sys/kernel/tracing/events', 'sys/kernel/debug/tracing/events'].map((d) => join(root, d)).find((d) => existsSync(d));
}

/** exit_reason's offset in a kvm_exit format file's text, or undefined. */
export function exitReasonOffset(format: string): number | undefined {
  const m = /field:[^;]*\sexit_reason;\s*offset:(\d+);\s*size:4;/.exec(format);
  return m ? Number(m[1]) : undefined;
}

export function kvmPlan(root = '/'): KvmPlan {
  const dir = eventsDir(root);
  const loaded = existsSync(join(root, 'sys/module/kvm')) ? 'the kvm module is loaded' : 'the kvm module is not loaded';
  const events = dir ? KVM_EVENTS.filter((e) => existsSync(join(dir, 'kvm', e))) : [];
  const missing = KVM_EVENTS.filter((e) => !events.includes(e as never));
  const notes: string[] = [];
  if (missing.length) {
    const where = dir ? `${join(dir, 'kvm')}/<event> is missing` : `tracefs is not mounted (no ${join(root, 'sys/kernel/tracing/events')}), so its kvm events cannot be attached`;
    notes.push(`KVM counts (${missing.join(', ')}) not attached: ${where}; ${loaded} (a TCG guest makes no VM exits either way)`);
  }
  let offset = 0;
  if (dir && events.includes('kvm_exit')) {
    const got = exitReasonOffset(readFileSync(join(dir, 'kvm', 'kvm_exit', 'format'), 'utf8'));
    if (got !== undefined && EXIT_REASON_OFFSETS.includes(got)) offset = got;
    else notes.push(`VM exits by reason: kvm_exit's format file has no 4-byte exit_reason at an offset the tracer reads (${EXIT_REASON_OFFSETS.join(', ')}): exits counted, their reason unknown`);
  }
  return { events, exitReasonOffset: offset, notes };
}

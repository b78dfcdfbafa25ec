// What Ansible says as it plays, node by node: its JSON-lines callback (ansible.posix.jsonl, one
// event a line) read as it comes, into each node's state (the step it is on, how it ended, the
// step that failed and Ansible's own message) and one progress line per finished step.

export type NodeStatus = 'waiting' | 'running' | 'ok' | 'failed' | 'unreachable';

export interface NodeState {
  name: string;
  status: NodeStatus;
  /** The step it is on, or was on when it failed. */
  step?: string;
  /** The first step that failed, and Ansible's message for it. */
  failedStep?: string;
  message?: string;
  /** It answered at least once (the clean-up of an interrupted run goes to these). */
  reached: boolean;
}

interface HostResult {
  msg?: string;
  stderr?: string;
  stdout?: string;
  rc?: number;
}

interface Event {
  _event: string;
  task?: { name?: string; duration?: { start?: string; end?: string } };
  hosts?: Record<string, HostResult>;
  stats?: Record<string, { failures: number; unreachable: number }>;
}

/** Ansible's message for a failed step: its msg, and the last lines the command wrote to stderr. */
function messageOf(r: HostResult): string {
  const tail = (s: string | undefined) => (s ?? '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  const parts = [r.msg && r.msg !== 'non-zero return code' ? r.msg.trim() : undefined, r.rc !== undefined && r.rc !== 0 ? `exit code ${r.rc}` : undefined, tail(r.stderr) || undefined];
  const text = parts.filter(Boolean).join('; ') || tail(r.stdout) || 'failed without a message';
  return text.length > 600 ? `${text.slice(0, 600)}...` : text;
}

function seconds(d: { start?: string; end?: string } | undefined): string {
  if (!d?.start || !d.end) return '';
  return `, ${((Date.parse(d.end) - Date.parse(d.start)) / 1000).toFixed(1)} s`;
}

export class PlayProgress {
  readonly nodes = new Map<string, NodeState>();
  private task = '';

  constructor(names: string[]) {
    for (const name of names) this.nodes.set(name, { name, status: 'waiting', reached: false });
  }

  private node(name: string): NodeState {
    let n = this.nodes.get(name);
    if (!n) this.nodes.set(name, (n = { name, status: 'waiting', reached: false }));
    return n;
  }

  /** One line of the callback's output; the progress lines it makes for people. */
  onLine(line: string): string[] {
    let e: Event;
    try {
      e = JSON.parse(line) as Event;
    } catch {
      return [];  // not an event (a warning Ansible printed to stdout)
    }
    if (e._event === 'v2_playbook_on_task_start') {
      this.task = e.task?.name ?? '';
      return [];
    }
    const out: string[] = [];
    for (const [name, r] of Object.entries(e.hosts ?? {})) {
      const n = this.node(name);
      const step = e.task?.name ?? this.task;
      if (e._event === 'v2_runner_on_unreachable') {
        Object.assign(n, { status: 'unreachable', step, failedStep: n.failedStep ?? step, message: n.message ?? messageOf(r) });
        out.push(`${name}: ${step}: UNREACHABLE: ${messageOf(r)}`);
        continue;
      }
      n.reached = true;
      if (e._event === 'v2_runner_on_failed') {
        if (n.status !== 'failed') Object.assign(n, { status: 'failed', failedStep: step, message: messageOf(r) });
        n.step = step;
        out.push(`${name}: ${step}: FAILED: ${messageOf(r)}`);
      } else if (e._event === 'v2_runner_on_ok') {
        if (n.status === 'waiting') n.status = 'running';
        n.step = step;
        out.push(`${name}: ${step}: ok${seconds(e.task?.duration)}`);
      }
    }
    if (e._event === 'v2_playbook_on_stats')
      for (const [name, s] of Object.entries(e.stats ?? {})) {
        const n = this.node(name);
        if (n.status === 'running' && !s.failures && !s.unreachable) n.status = 'ok';
      }
    return out;
  }
}

// How far a guest-kernel build is: objects made against the total the configured tree will make
// (counted by a dry run of make before the build), the time so far and, once the build has shown
// its pace, about how long is left. The arithmetic only; the clock and the lines come from outside.

/** A line of the real build that reports an object made (kbuild's `  CC      init/main.o`). */
const MADE = /^\s+(CC|AS|LD|AR)\s/;
/** The same report as a dry run (`make -n`) prints it: the command's `echo '  CC      init/main.o'`. */
const WOULD_MAKE = /echo '\s+(?:CC|AS|LD|AR)\s/g;

/** Whether a line of `make vmlinux` reports an object made. */
export function madeObject(line: string): boolean {
  return MADE.test(line);
}

/** How many objects a line of `make -n vmlinux` says would be made (two may share a line under -j). */
export function objectsInDryRunLine(line: string): number {
  return line.match(WOULD_MAKE)?.length ?? 0;
}

/** The line of a dry run that shows it went through every directory: the final link's own make. */
const FINAL_LINK = /scripts\/Makefile\.vmlinux(?:_o)?\b/;

/**
 * Counts what a dry run (`make -n vmlinux`) says would be made. The count is a total only if the
 * dry run reached the final link: 6.12's, run before `make prepare`, stops at objtool's missing
 * folders having counted 4.
 */
export class DryRunCount {
  private n = 0;
  private reached = false;

  line(l: string): void {
    this.n += objectsInDryRunLine(l);
    this.reached ||= FINAL_LINK.test(l);
  }

  total(): number | undefined {
    return this.reached && this.n > 0 ? this.n : undefined;
  }
}

/** The total the build is measured against, and where it came from (said once, before the build). */
export interface BuildTotal {
  objects: number;
  /** e.g. "counted by make -n", "the last build of linux-source-6.1" */
  from: string;
}

/** Whether a count is past what the final links (vmlinux.a, vmlinux.o, vmlinux: a few) add to a dry run's total. */
export function pastTotal(objects: number, total: number): boolean {
  return objects > total * 1.01 + 10;
}

/** Before this share of the total and this much time in make, the pace says too little to forecast from. */
export const FORECAST_AFTER_SHARE = 0.05;
export const FORECAST_AFTER_MS = 15_000;

/**
 * The time left from the pace so far (objects per second since make started), or undefined while
 * too little is done to say. Once the count reaches the total, make is linking: nothing to forecast.
 */
export function timeLeftMs(objects: number, total: number, makeMs: number): number | undefined {
  if (total <= 0 || objects >= total) return undefined;
  if (objects < FORECAST_AFTER_SHARE * total || makeMs < FORECAST_AFTER_MS) return undefined;
  return ((total - objects) * makeMs) / objects;
}

/** A time left in words: "about 40 s" under a minute and a half (to 10 s), else "about 4 min". */
export function aboutTime(ms: number): string {
  const s = ms / 1000;
  if (s <= 90) return `about ${Math.max(10, Math.round(s / 10) * 10)} s`;
  return `about ${Math.round(s / 60)} min`;
}

/** The share done, in whole percent, never 100 before make has finished (the total is an estimate). */
export function percentDone(objects: number, total: number): number {
  return Math.min(99, Math.floor((100 * objects) / total));
}

/** One progress line: `building linux-source-6.1: 512 of about 1700 objects (30%), 95 s, about 3 min left`. */
export function progressLine(what: string, objects: number, total: BuildTotal | undefined, elapsedMs: number, makeMs: number): string {
  const secs = `${Math.round(elapsedMs / 1000)} s`;
  if (!total) return `building ${what}: ${objects} objects so far, ${secs}`;
  // The real build reports a few more than its dry run (the final links): past those, the total was wrong.
  if (pastTotal(objects, total.objects)) return `building ${what}: ${objects} objects, more than the ${total.objects} expected, ${secs}`;
  if (objects >= total.objects) return `building ${what}: ${objects} of about ${total.objects} objects (99%), ${secs}, linking`;
  const left = timeLeftMs(objects, total.objects, makeMs);
  return `building ${what}: ${objects} of about ${total.objects} objects (${percentDone(objects, total.objects)}%), ${secs}` +
    (left === undefined ? '' : `, ${aboutTime(left)} left`);
}

/**
 * Counts the objects of a running `make vmlinux` from its lines; says a progress line on each
 * tick (the caller's timer: each second on a terminal, which redraws one line; every ten seconds
 * in a log), so a silent stretch (the final link) still shows the time going on.
 */
export class BuildMeter {
  objects = 0;
  private readonly makeStart: number;

  constructor(
    private readonly what: string,
    private readonly total: BuildTotal | undefined,
    private readonly say: (line: string) => void,
    private readonly buildStart: number,
    private readonly now: () => number = Date.now,
  ) {
    this.makeStart = now();
  }

  /** A line of make's output. */
  line(l: string): void {
    if (madeObject(l)) this.objects++;
  }

  tick(): void {
    const t = this.now();
    this.say(progressLine(this.what, this.objects, this.total, t - this.buildStart, t - this.makeStart));
  }
}

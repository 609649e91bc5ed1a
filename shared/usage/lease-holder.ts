// Which process holds a local sweep's lease, recorded with it so that the next `npm start` on the
// same DATA_DIR can tell at once that a holder killed mid-sweep is gone, instead of waiting out its
// deadline. Used by the SQLite ledger only: deployed, a holder is an invocation, not a process.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { systemCode } from '../errors.ts';

/** A process, as recorded with the lease it holds. */
export interface ProcessIdentity {
  /**
   * The machine and pid namespace the pid means something in (`host#pid:[4026531836]`): a pid seen
   * from another machine sharing DATA_DIR, or from another container, says nothing here.
   */
  readonly machine: string;
  readonly pid: number;
  /**
   * When the kernel started it (Linux: the boot id and field 22 of /proc/<pid>/stat, in clock ticks
   * since boot), or undefined where that cannot be read. A pid reused by a later process has
   * another start time.
   */
  readonly startedAt: string | undefined;
  /** Drawn at random once per process: tells this process from an earlier one that had its pid. */
  readonly instance: string;
}

/** Whether the recorded holder is certainly gone; false whenever that cannot be known. */
export type HolderProbe = (holder: ProcessIdentity, self: ProcessIdentity) => boolean;

let current: ProcessIdentity | undefined;

/** This process. */
export function currentProcess(): ProcessIdentity {
  current ??= {
    machine: machineOf(),
    pid: process.pid,
    startedAt: kernelView(process.pid)?.startedAt,
    instance: randomUUID(),
  };
  return current;
}

/**
 * A holder is gone when, on this machine: it is an earlier process that had this process's pid;
 * no process has its pid (ESRCH); the process with its pid is a zombie (killed, not yet reaped); or
 * that process started at another time (the pid was reused). A holder on another machine, or one
 * whose start time cannot be compared, is never judged gone: its lease lapses after its deadline.
 */
export const isHolderGone: HolderProbe = (holder, self) => {
  if (holder.machine !== self.machine) return false;
  if (holder.instance === self.instance) return false;
  if (holder.pid === self.pid) {
    // The same pid but another instance: an earlier process (or, where the start times agree, a
    // worker thread of this one, which has a module instance of its own).
    if (holder.startedAt !== undefined && self.startedAt !== undefined)
      return holder.startedAt !== self.startedAt;
    return true;
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: a process with that pid exists but belongs to someone else; look further.
    if (systemCode(error) === 'ESRCH') return true;
    if (systemCode(error) !== 'EPERM') return false;
  }
  const now = kernelView(holder.pid);
  if (now === undefined) return false;
  if (now.state === 'Z' || now.state === 'X') return true;
  return holder.startedAt !== undefined && now.startedAt !== holder.startedAt;
};

function machineOf(): string {
  let namespace = '';
  try {
    namespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // Not Linux: the host name alone.
  }
  return namespace === '' ? hostname() : `${hostname()}#${namespace}`;
}

let bootId: string | undefined;

/** State and start time of `pid` from /proc (Linux), or undefined when unreadable. */
function kernelView(pid: number): { state: string; startedAt: string } | undefined {
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const start = fields[19];
    if (state === undefined || start === undefined || !/^\d+$/.test(start)) return undefined;
    return { state, startedAt: `${bootId}/${start}` };
  } catch {
    return undefined;
  }
}

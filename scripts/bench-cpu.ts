// CPU time from /proc, for the benchmarks' "ms of CPU per message" beside their rates.
import fs from "node:fs";
import path from "node:path";
import type pg from "pg";

/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux this runs on */
const CLOCK_TICKS = 100;

/** CPU time (ms) each of the given processes has used so far (a process that is gone is left out). */
export function processCpuMs(pids: number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      // the fields after the command's closing parenthesis; utime and stime are the 12th and 13th of them
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      used.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
    } catch {
      // ended
    }
  }
  return used;
}

/** The CPU time (ms) processes used between two readings; one that started in between counts from 0. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, used] of after) ms += used - (before.get(pid) ?? 0);
  return ms;
}

/** CPU time (ms) the whole machine has spent on anything but idling and waiting for disks so far. */
export function machineCpuMs(): number {
  const [, user, nice, system, , , irq, softirq] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  return ((user + nice + system + irq + softirq) * 1000) / CLOCK_TICKS;
}

/** PostgreSQL's processes: its backends (the pools open and close them) and its background workers, but not `client`'s own. */
export async function postgresPids(client: pg.Client): Promise<number[]> {
  return (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")).rows.map((row) => row.pid);
}

/** Node's flags that write a CPU profile of the mailer into BENCH_PROFILE (a directory), when it is set. */
export function mailerProfileFlags(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

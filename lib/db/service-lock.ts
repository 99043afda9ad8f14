// One service per data directory: the running service holds <data dir>/service.pid. A second
// service refuses to start; the CLI and test tools share the service's database instead.
import fs from "node:fs";
import path from "node:path";
import { MailharborError } from "../errors.ts";
import { processAlive } from "../system/process-alive.ts";

function lockFile(dataDir: string) {
  return path.join(dataDir, "service.pid");
}

/** The pid of the live service using this data directory, or null. */
export function runningServicePid(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(lockFile(dataDir), "utf8").trim());
    return pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the data directory for this process, or throws DATA_DIR_IN_USE. Returns the release function. */
export function acquireServiceLock(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = runningServicePid(dataDir);
      if (pid)
        throw new MailharborError(
          "DATA_DIR_IN_USE",
          `another Mailharbor service (pid ${pid}) is already running on ${dataDir}; stop it first or set MAILHARBOR_DATA_DIR`,
        );
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new MailharborError("DATA_DIR_IN_USE", `could not take ${file}`);
}

// How the portal writes sizes, times and durations. Times are shown in UTC, the way mail logs read.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatNumber(value: number): string {
  return value.toLocaleString("en-US");
}

export function formatTime(date: Date | null | undefined): string {
  if (!date) return "—";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const minutes = Math.floor(abs / 60_000);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60 ? `${minutes % 60} min` : ""}`.trim();
  const days = Math.floor(hours / 24);
  return `${days} d ${hours % 24 ? `${hours % 24} h` : ""}`.trim();
}

export function formatAge(date: Date, now = Date.now()): string {
  return `${formatDuration(now - date.getTime())} ago`;
}

/** Time left before a held message expires; "expired" once past. */
export function formatTimeLeft(expiresAt: Date | null, now = Date.now()): string {
  if (!expiresAt) return "—";
  const left = expiresAt.getTime() - now;
  return left <= 0 ? "expiring now" : formatDuration(left);
}

/** Waits `ms` milliseconds: for a test that must let time pass (a timer, a close the other side sees a moment later). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

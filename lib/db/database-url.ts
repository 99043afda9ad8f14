// Which PostgreSQL this process talks to, for both database clients (the Prisma client in
// client.ts and the queue pool): the one openDatabase opened (the embedded server, or
// DATABASE_URL), else DATABASE_URL from the configuration (the portal and mailer processes, which
// `npm start` hands the URL). One place, so nothing writes process.env to pass it on.
import { getConfig } from "../config/config.ts";
import { MailharborError } from "../errors.ts";

let opened: string | undefined;

/** Called by openDatabase with the database it opened. */
export function useDatabaseUrl(url: string): void {
  opened = url;
}

export function databaseUrl(): string {
  const url = opened ?? getConfig().DATABASE_URL;
  if (!url) throw new MailharborError("DB_UNAVAILABLE", "DATABASE_URL is not set");
  return url;
}

/** DATABASE_POOL_SIZE: connections each client opens at most. */
export function databasePoolSize(): number {
  return getConfig().DATABASE_POOL_SIZE;
}

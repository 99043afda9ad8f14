// Listens on one PostgreSQL notification channel (LISTEN) on a connection of its own, so that a
// process may keep answers it read from the database exactly until the database says they changed.
// A reader records `generation` before it reads and keeps what it read only if the generation is
// the same afterwards and the listener is `live`: a notification, a lost connection and a new one
// each move the generation on, so nothing read before a change (or during a gap in listening,
// when a change could go unheard) is kept past it. The connection comes back by itself.
import pg from "pg";
import { databaseUrl } from "./database-url.ts";
import type { Logger } from "../log/logger.ts";

/** How long after a lost or failed connection the next attempt is made. */
const RETRY_MS = 1000;

export class ChangeListener {
  /** moves on with every notification and every change of `live` */
  generation = 0;
  /** listening now: a change that commits will be heard */
  live = false;
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.retry = null;
    const client = new pg.Client({ connectionString: databaseUrl(), application_name: `mailharbor listen ${this.channel}`, keepAlive: true });
    this.client = client;
    client.on("notification", () => this.generation++);
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      this.log.debug({ code: "LISTEN_FAILED", channel: this.channel, err: error }, "could not listen for changes");
      this.lost(client);
      return;
    }
    if (this.client !== client) return;
    this.generation++;
    this.live = true;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.live) this.log.warn({ code: "LISTEN_LOST", channel: this.channel }, "stopped hearing of changes; reading every time until listening again");
    this.live = false;
    this.generation++;
    client.end().catch(() => undefined);
    if (!this.stopped) this.retry = setTimeout(() => void this.connect(), RETRY_MS).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.live = false;
    this.generation++;
    await client?.end().catch(() => undefined);
  }
}

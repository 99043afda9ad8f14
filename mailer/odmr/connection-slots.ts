// The ODMR listeners' connection slots: one count for both listeners (ODMR_PORT and ODMRS_PORT) and
// one per client address (IPv6: per /64, as the AUTH throttle counts), taken when a connection
// is accepted and given back only when its socket is gone, so a session keeps its slot after the
// turn-around too (smtp-server forgets it then, see OdmrConnection.turnAround). A connection
// refused here never becomes a session: the listener counts it (mailharbor_door_refusals_total)
// and logs it, no row.
import { clientKey } from "../../lib/auth/attempt-throttle.ts";

export type SlotRefusal = "busy" | "per-address";

export class ConnectionSlots {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly perClient: number,
  ) {}

  /** A slot for a connection from this address (give it back with the returned function, once), or why not. */
  take(address: string): { release: () => void } | { refused: SlotRefusal } {
    const key = clientKey(address);
    const fromClient = this.byClient.get(key) ?? 0;
    if (this.total >= this.max) return { refused: "busy" };
    if (fromClient >= this.perClient) return { refused: "per-address" };
    this.total++;
    this.byClient.set(key, fromClient + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byClient.get(key) ?? 1) - 1;
        if (left > 0) this.byClient.set(key, left);
        else this.byClient.delete(key);
      },
    };
  }

  /** Connections holding a slot now, all listeners, before and after the turn-around. */
  get inUse(): number {
    return this.total;
  }
}

// The ODMR listeners' connection slots: one count for both listeners (ODMR_PORT and ODMRS_PORT) and
// one per client address (IPv6: per /64, as the AUTH throttle counts), taken when a connection
// is accepted and given back only when its socket is gone, so a session keeps its slot after the
// turn-around too (smtp-server forgets it then, see OdmrConnection.turnAround). A connection
// refused here never becomes a session: it is counted in `odmrDoorCounters` and logged, no row.
import { clientKey } from "../../lib/auth/attempt-throttle.ts";

/** Counts since the mailer started, for a metrics endpoint to read. */
export const odmrDoorCounters = {
  /** refused with 421: the listeners' ODMR_MAX_CONNECTIONS were all taken */
  refusedBusy: 0,
  /** refused with 421: the client's address had ODMR_MAX_CONNECTIONS_PER_IP */
  refusedPerAddress: 0,
  /** closed with 421: no successful AUTH within ODMR_PREAUTH_SECONDS */
  preauthTimeouts: 0,
};

export type SlotRefusal = "busy" | "per-address";

export class ConnectionSlots {
  private total = 0;
  private readonly byClient = new Map<string, number>();

  constructor(private readonly max: number, private readonly perClient: number) {}

  /** A slot for a connection from this address (give it back with the returned function, once), or why not. */
  take(address: string): { release: () => void } | { refused: SlotRefusal } {
    const key = clientKey(address);
    const fromClient = this.byClient.get(key) ?? 0;
    if (this.total >= this.max) {
      odmrDoorCounters.refusedBusy++;
      return { refused: "busy" };
    }
    if (fromClient >= this.perClient) {
      odmrDoorCounters.refusedPerAddress++;
      return { refused: "per-address" };
    }
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

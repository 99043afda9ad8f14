// The one place where a listener's server touches smtp-server's private members (see
// adapted-connection.ts for the connection's). MxServer and OdmrServer extend AdaptedServer:
// connect() builds the listener's own connection class, and the helpers below replace direct use
// of the connection list, the accept handler and the sockets still in a TLS handshake.
//
// Private members used: connections, _onError and _onClientConnect (connect() is smtp-server's
// own with the connection class replaced: the contract test compares the two), _pendingSockets,
// and the "connection" listener smtp-server puts on its net.Server.
import type net from "node:net";
import type tls from "node:tls";
import { SMTPServer } from "smtp-server";
import type { SMTPConnectionOptions } from "./adapted-connection.ts";
import type { AdaptedConnection } from "./adapted-connection.ts";

export abstract class AdaptedServer extends SMTPServer {
  /** The listener's connection for a socket smtp-server hands over, or null when it refused the socket itself. */
  protected abstract createConnection(socket: net.Socket | tls.TLSSocket, options: SMTPConnectionOptions | null | undefined): AdaptedConnection | null;

  /** smtp-server's connect(), building the listener's connection class. */
  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = this.createConnection(socket, socketOptions);
    if (!connection) return;
    this.connections.add(connection);
    connection.on("error", (err: Error) => this._onError(err));
    connection.on("connect", (data) => this._onClientConnect(data));
    connection.init();
  }

  /** Connections smtp-server serves (a detached socket is no longer one). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The connections smtp-server serves, as the listener's class. */
  protected openConnections<C extends AdaptedConnection>(): C[] {
    return [...this.connections] as unknown as C[];
  }

  /**
   * Puts `admit` in front of smtp-server's accept handler: a socket it refuses never reaches
   * smtp-server (on an implicit-TLS port, not even its TLS handshake).
   */
  protected admitFirst(admit: (socket: net.Socket) => boolean): void {
    const accept = this.server.listeners("connection") as ((socket: net.Socket) => void)[];
    this.server.removeAllListeners("connection");
    this.server.on("connection", (socket: net.Socket) => {
      if (admit(socket)) for (const handler of accept) handler.call(this.server, socket);
    });
  }

  /** The topmost socket of an accepted one: its TLS socket while the implicit handshake runs. */
  protected topmostSocket(socket: net.Socket): net.Socket {
    return this._pendingSockets.get(socket) ?? socket;
  }

  /** Stops listening; connections still open after graceMs are closed with 421 by smtp-server. */
  closeWithin(graceMs: number, done: () => void): void {
    this.options.closeTimeout = Math.max(1, graceMs);
    this.close(done);
  }
}

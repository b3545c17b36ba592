/**
 * A TCP proxy in front of the database that can be cut: until `cut()`, it
 * passes connections through; then it drops every connection and stops
 * listening, so new connections are refused, as when a database host goes away.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class OutageProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private up = true;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.pass(client));
  }

  /** A proxy on a free port of 127.0.0.1 in front of `host:port`. */
  static async start(host: string, port: number): Promise<OutageProxy> {
    const proxy = new OutageProxy(host, port);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The outage: open connections dropped, new ones refused. */
  async cut(): Promise<void> {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pass(client: Socket): void {
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}

/**
 * A TCP proxy for fault tests: it sits between a sink and a real database
 * server and can refuse connections, cut them (at once, or once the client has
 * sent N more bytes: in the middle of a COPY, a LOAD DATA or an INSERT), delay
 * them, or swallow them (a network that drops packets). The sink's URL points
 * at the proxy's port; the servers themselves are never touched.
 */
import net from 'node:net';

export type ProxyMode =
  /** Forward both ways. */
  | 'pass'
  /** Accept new connections and close them at once, before any byte reaches the server. */
  | 'refuse'
  /** Stop listening: connecting fails with ECONNREFUSED. */
  | 'closed'
  /** Accept new connections and never answer: what a dropped network looks like to a client. */
  | 'blackhole';

interface Link {
  readonly client: net.Socket;
  readonly server: net.Socket | undefined;
  /** Bytes the client sent through this link since it was opened. */
  clientBytes: number;
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private mode: ProxyMode = 'pass';
  private delayMillis = 0;
  /** Armed by cutAfterClientBytes: the first link to carry this many more client bytes is cut. */
  private cutAt: { readonly bytes: number; readonly done: (cut: CutReport) => void } | undefined;
  private baseline = new WeakMap<Link, number>();
  /** Armed by cutBeforeReplyTo; `link` is set once the client sent the text on it. */
  private replyCut: { readonly needle: Buffer; readonly done: () => void; link?: Link } | undefined;
  /** Connections accepted (whatever became of them). */
  accepted = 0;
  /** The first bytes each accepted connection sent (up to 1 KiB), in the order connections came: what the client said first. */
  readonly clientHeads: Buffer[] = [];
  /** Connections cut by the proxy while open. */
  cuts = 0;
  port = 0;

  private constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  /** A proxy on 127.0.0.1 and a free port, forwarding to host:port. */
  static async start(upstreamHost: string, upstreamPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(upstreamHost, upstreamPort);
    await proxy.listen(0);
    return proxy;
  }

  /** A proxy in front of the server of a database URL; `url()` gives the URL through it. */
  static async forUrl(url: string): Promise<TcpProxy> {
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol.startsWith('mysql') ? 3306 : 5432));
    return TcpProxy.start(parsed.hostname || '127.0.0.1', port);
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Open links (connections from the client with their server side). */
  get openConnections(): number {
    return this.links.size;
  }

  /** Local ports of the proxy's connections to the server: how the server sees this proxy's clients. */
  upstreamPorts(): number[] {
    return [...this.links].flatMap((l) => (l.server?.localPort ? [l.server.localPort] : []));
  }

  /**
   * Forwards again; listens again when the mode was `closed` (same port).
   * `strandOpen` leaves connections blackholed before silent for good, as a
   * failover to a new host or a NAT that forgot them would: only new ones work.
   */
  async pass(options: { strandOpen?: boolean } = {}): Promise<void> {
    this.mode = 'pass';
    if (!options.strandOpen) this.resumeOpen();
    if (!this.server) await this.listen(this.port);
  }

  private resumeOpen(): void {
    for (const link of [...this.links]) {
      // A blackholed connection that never reached the server has nothing to resume.
      if (!link.server) this.cut(link);
      else {
        link.client.resume();
        link.server.resume();
      }
    }
  }

  /** New connections are accepted and closed at once; open ones are cut too unless `keepOpen`. */
  refuse(options: { keepOpen?: boolean } = {}): void {
    this.mode = 'refuse';
    if (!options.keepOpen) this.cutAll();
  }

  /** Stops listening (ECONNREFUSED for new connections) and cuts open ones. */
  async close(): Promise<void> {
    this.mode = 'closed';
    this.cutAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** New connections hang without an answer; open ones stop carrying bytes both ways. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const link of this.links) {
      link.client.pause();
      link.server?.pause();
    }
  }

  /** Adds `millis` of latency to every chunk, both ways (0 removes it). */
  delay(millis: number): void {
    this.delayMillis = millis;
  }

  /** Destroys every open connection, both sides, as a network failure would. */
  cutAll(): number {
    const count = this.links.size;
    for (const link of [...this.links]) this.cut(link);
    return count;
  }

  /**
   * Cuts the first connection that sends `bytes` more bytes from the client than
   * it had sent when this was called (new connections count from 0), just before
   * forwarding the byte that passes the mark: the server has seen part of the
   * statement or its data, never all of it. Resolves when the cut happened.
   */
  cutAfterClientBytes(bytes: number): Promise<CutReport> {
    for (const link of this.links) this.baseline.set(link, link.clientBytes);
    return new Promise((done) => (this.cutAt = { bytes, done }));
  }

  /**
   * Cuts the first connection on which the client sends `clientText` (matched
   * byte for byte in one chunk: a COMMIT statement, PostgreSQL's CopyDone) at
   * the moment the server answers it: the server has done the work, the client
   * never hears so. Resolves when the cut happened.
   */
  cutBeforeReplyTo(clientText: string): Promise<void> {
    return new Promise((done) => (this.replyCut = { needle: Buffer.from(clientText, 'latin1'), done }));
  }

  /** Stops listening and cuts everything. */
  async stop(): Promise<void> {
    await this.close();
  }

  private async listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    client.on('error', () => {});
    const head = this.clientHeads.push(Buffer.alloc(0)) - 1;
    const record = (chunk: Buffer) => {
      const seen = this.clientHeads[head] as Buffer;
      if (seen.length < 1024) this.clientHeads[head] = Buffer.concat([seen, chunk]).subarray(0, 1024);
    };
    client.on('data', record);
    if (this.mode === 'refuse' || this.mode === 'closed') {
      client.destroy();
      return;
    }
    if (this.mode === 'blackhole') {
      const link: Link = { client, server: undefined, clientBytes: 0 };
      this.links.add(link);
      client.pause();
      client.on('close', () => this.links.delete(link));
      return;
    }
    const server = net.connect(this.upstreamPort, this.upstreamHost);
    server.on('error', () => {});
    const link: Link = { client, server, clientBytes: 0 };
    this.links.add(link);
    const forget = () => {
      if (!this.links.delete(link)) return;
      client.destroy();
      server.destroy();
    };
    client.on('close', forget);
    server.on('close', forget);

    client.on('data', (chunk: Buffer) => {
      const armed = this.cutAt;
      if (armed) {
        const before = link.clientBytes - (this.baseline.get(link) ?? 0);
        if (before + chunk.length >= armed.bytes) {
          const keep = Math.max(0, armed.bytes - before - 1);
          this.cutAt = undefined;
          this.forward(server, chunk.subarray(0, keep), () => {
            this.cut(link);
            armed.done({ clientBytes: link.clientBytes + keep });
          });
          link.clientBytes += chunk.length;
          return;
        }
      }
      link.clientBytes += chunk.length;
      const replyCut = this.replyCut;
      if (replyCut && !replyCut.link && chunk.includes(replyCut.needle)) replyCut.link = link;
      this.forward(server, chunk);
    });
    server.on('data', (chunk: Buffer) => {
      const replyCut = this.replyCut;
      if (replyCut?.link === link) {
        this.replyCut = undefined;
        this.cut(link);
        replyCut.done();
        return;
      }
      this.forward(client, chunk);
    });
  }

  /** When the last chunk scheduled for each socket goes out: bytes never overtake each other, as on TCP. */
  private readonly sendsAt = new WeakMap<net.Socket, number>();

  private forward(to: net.Socket, chunk: Buffer, then?: () => void): void {
    const send = () => {
      if (!to.destroyed && chunk.length > 0) to.write(chunk);
      then?.();
    };
    const now = Date.now();
    const at = Math.max(now + this.delayMillis, this.sendsAt.get(to) ?? 0);
    this.sendsAt.set(to, at);
    if (at > now) setTimeout(send, at - now);
    else send();
  }

  private cut(link: Link): void {
    if (!this.links.delete(link)) return;
    this.cuts++;
    // resetAndDestroy sends a RST, as a broken network path or a killed peer would.
    link.client.resetAndDestroy();
    link.server?.resetAndDestroy();
  }
}

export interface CutReport {
  /** Client bytes the cut connection had carried, counted from its start. */
  readonly clientBytes: number;
}

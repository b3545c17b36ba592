/**
 * A throwaway PostgreSQL server of a test's own, for what the shared one
 * cannot show: that server trusts every local connection (so no password is
 * ever wrong) and has no TLS. This one is made with the installed server's
 * initdb, asks for scram-sha-256 passwords, serves TLS with a certificate
 * signed by a CA made for the run, listens on a free port of 127.0.0.1, and is
 * removed by stop(). Without the server binaries, tests using it skip.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateServer {
  readonly port: number;
  /** The CA that signed the server's certificate (for DNS:localhost only), or undefined without TLS. */
  readonly caFile: string | undefined;
  /** postgres://postgres:<password>@<host>:<port>/postgres plus `search`. */
  url(password: string, options?: { host?: string; search?: string }): string;
  stop(): Promise<void>;
}

function serverBinDir(): string | undefined {
  const fromEnv = process.env.LLAMONITOR_TEST_PG_BINDIR;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A CA and a server certificate for DNS:localhost, made with openssl; undefined without openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } | undefined {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=llamonitor test CA',
    );
    openssl(
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=localhost',
    );
    writeFileSync(file('san.ext'), 'subjectAltName=DNS:localhost\n');
    openssl(
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('san.ext'),
    ); // prettier-ignore
    chmodSync(file('server.key'), 0o600); // the server refuses a key others can read
    return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
  } catch {
    return undefined;
  }
}

/** Starts the server, or returns undefined (with a warning) where no PostgreSQL binaries are installed. */
export async function startPrivateServer(password: string): Promise<PrivateServer | undefined> {
  const bin = serverBinDir();
  if (!bin || !existsSync(join(bin, 'initdb'))) {
    console.warn(
      'skipping private-server tests: no PostgreSQL server binaries (set LLAMONITOR_TEST_PG_BINDIR)',
    );
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'llamonitor-pg-'));
  const data = join(dir, 'data');
  // initdb and postgres refuse to run as root: run them as the postgres user then.
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, command), args, { stdio: 'pipe' });
  try {
    const certificates = makeCertificates(dir);
    writeFileSync(join(dir, 'password'), `${password}\n`, { mode: 0o600 });
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      for (const name of ['', 'password', 'server.key', 'server.pem', 'ca.pem']) {
        if (existsSync(join(dir, name))) chownSync(join(dir, name), uid, gid);
      }
    }
    run('initdb', [
      '-D', data, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${join(dir, 'password')}`,
      '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C',
    ]); // prettier-ignore
    const port = await freePort();
    const settings = [
      `-p ${port}`, '-c listen_addresses=127.0.0.1', `-c unix_socket_directories=${dir}`,
      '-c shared_buffers=16MB', '-c max_connections=30', '-c fsync=off',
      ...(certificates
        ? ['-c ssl=on', `-c ssl_cert_file=${certificates.cert}`, `-c ssl_key_file=${certificates.key}`]
        : []),
    ]; // prettier-ignore
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', settings.join(' '), 'start']);
    return {
      port,
      caFile: certificates?.ca,
      url: (pw, options = {}) =>
        `postgres://postgres:${encodeURIComponent(pw)}@${options.host ?? '127.0.0.1'}:${port}/postgres${options.search ?? ''}`,
      stop: async () => {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

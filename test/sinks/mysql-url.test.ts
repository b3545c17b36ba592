/** mysql:// URLs to driver options: the parts, the TLS modes, and clear refusals. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseMySqlUrl } from '../../src/sinks/mysql/index.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function pemFile(name: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llamonitor-mysql-')), name);
  writeFileSync(path, PEM);
  return path;
}

describe('parseMySqlUrl', () => {
  it('reads user, encoded password, host, port and database', () => {
    const config = parseMySqlUrl('mysql://app:p%40ss%2Fw@db.internal:3307/monitoring');
    expect(config.options).toMatchObject({
      user: 'app',
      password: 'p@ss/w',
      host: 'db.internal',
      port: 3307,
      database: 'monitoring',
    });
    expect(config.address).toBe('db.internal:3307');
  });

  it('masks the password in the target used by messages', () => {
    expect(parseMySqlUrl('mysql://app:secret@db/monitoring').target).toBe('mysql://app:****@db/monitoring');
  });

  it('keeps big numbers exact, DATETIME as text and UTC for any Date', () => {
    expect(parseMySqlUrl('mysql://app@db/m').options).toMatchObject({
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      port: 3306,
    });
  });

  it('connects through a Unix socket given as socket=', () => {
    const config = parseMySqlUrl('mysql://app@localhost/m?socket=/run/mysqld/mysqld.sock');
    expect(config.options.socketPath).toBe('/run/mysqld/mysqld.sock');
    expect(config.options.host).toBeUndefined();
  });

  it('takes connect-timeout in seconds, as the MySQL client does', () => {
    expect(parseMySqlUrl('mysql://app@db/m?connect-timeout=2.5').options.connectTimeout).toBe(2500);
  });

  it('uses no TLS unless asked', () => {
    const config = parseMySqlUrl('mysql://app@db/m');
    expect([config.tlsMode, config.tlsOptions]).toEqual(['disabled', undefined]);
  });

  it('encrypts without verifying for ssl-mode=REQUIRED, in either spelling of the name', () => {
    for (const url of [
      'mysql://app@db/m?ssl-mode=REQUIRED',
      'mysql://app@db/m?ssl_mode=required',
      'mysql://app@db/m?ssl=true',
    ]) {
      expect(parseMySqlUrl(url).tlsOptions).toEqual({ rejectUnauthorized: false, verifyIdentity: false });
    }
  });

  it('verifies the chain but not the host name for ssl-mode=VERIFY_CA', () => {
    const ca = pemFile('ca.pem');
    expect(parseMySqlUrl(`mysql://app@db/m?ssl-mode=VERIFY_CA&ssl-ca=${ca}`).tlsOptions).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: false,
      ca: PEM,
    });
  });

  it('verifies chain and host name for ssl-mode=VERIFY_IDENTITY', () => {
    expect(parseMySqlUrl('mysql://app@db/m?ssl-mode=verify_identity').tlsOptions).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
  });

  it('verifies against ssl-ca when no mode is given, as the MySQL client does', () => {
    const config = parseMySqlUrl(`mysql://app@db/m?ssl-ca=${pemFile('ca.pem')}`);
    expect(config.tlsMode).toBe('verify_ca');
  });

  it('reads a client certificate and key for ssl-cert and ssl-key', () => {
    const tls = parseMySqlUrl(
      `mysql://app@db/m?ssl-mode=required&ssl-cert=${pemFile('c.pem')}&ssl-key=${pemFile('k.pem')}`,
    ).tlsOptions;
    expect(tls).toMatchObject({ cert: PEM, key: PEM });
  });

  it('turns off LOAD DATA LOCAL for local-infile=0', () => {
    expect(parseMySqlUrl('mysql://app@db/m?local-infile=0').localInfile).toBe(false);
    expect(parseMySqlUrl('mysql://app@db/m').localInfile).toBe(true);
  });

  it('refuses an unknown parameter, naming the closest and listing the allowed ones, without the password', () => {
    const parse = () => parseMySqlUrl('mysql://app:secret@db/m?sslmode=require');
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(
      /^unknown parameter sslmode \(did you mean ssl-mode\?\); a MySQL URL takes ssl-mode, ssl, ssl-ca/,
    );
    expect(parse).not.toThrow(/secret/);
    expect(() => parseMySqlUrl('mysql://app@db/m?conect-timeout=3')).toThrow(
      /did you mean connect-timeout\?/,
    );
  });

  it('refuses a parameter given twice', () => {
    expect(() => parseMySqlUrl('mysql://app@db/m?ssl-mode=required&ssl_mode=disabled')).toThrow(
      /ssl-mode is given twice/,
    );
  });

  it('refuses an unknown ssl-mode, listing the modes', () => {
    expect(() => parseMySqlUrl('mysql://app@db/m?ssl-mode=verify')).toThrow(
      /ssl-mode=verify is not allowed: use one of disabled, preferred, required, verify_ca, verify_identity/,
    );
  });

  it('checks the values of connect-timeout, local-infile and ssl', () => {
    expect(() => parseMySqlUrl('mysql://app@db/m?connect-timeout=0')).toThrow(
      /connect-timeout=0 is not allowed/,
    );
    expect(() => parseMySqlUrl('mysql://app@db/m?connect-timeout=')).toThrow(
      /connect-timeout= is not allowed/,
    );
    expect(() => parseMySqlUrl('mysql://app@db/m?local-infile=maybe')).toThrow(
      /local-infile=maybe is not allowed/,
    );
    expect(() => parseMySqlUrl('mysql://app@db/m?ssl=sure')).toThrow(/ssl=sure is not allowed/);
  });

  it('names a certificate file it cannot read', () => {
    expect(() => parseMySqlUrl('mysql://app@db/m?ssl-ca=/no/such/ca.pem')).toThrow(
      /ssl-ca=\/no\/such\/ca.pem cannot be read \(ENOENT\)/,
    );
  });

  it('refuses certificates with TLS disabled, and a certificate without its key', () => {
    expect(() => parseMySqlUrl(`mysql://app@db/m?ssl-mode=disabled&ssl-ca=${pemFile('ca.pem')}`)).toThrow(
      /need TLS, but ssl-mode is disabled/,
    );
    expect(() => parseMySqlUrl(`mysql://app@db/m?ssl-mode=required&ssl-cert=${pemFile('c.pem')}`)).toThrow(
      /ssl-cert and ssl-key go together/,
    );
  });

  it('asks for a database when the URL names none', () => {
    expect(() => parseMySqlUrl('mysql://app@db')).toThrow(/name one database as the path/);
  });
});

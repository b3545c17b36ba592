/**
 * The checks every database URL goes through before its sink reads it, so that
 * a URL the WHATWG parser refuses, or reads otherwise than its writer meant,
 * stops construction. The classic case is a password with an unencoded `/`:
 * `postgres://app:pa/ss@db/metrics` either fails to parse or parses with the
 * host `app`, and the password would then show in messages and go nowhere.
 * Messages name the problem and never hold any part of the URL.
 */
import { ConfigError } from '../errors.js';

/** A user name or password must be percent-encoded when it holds one of these. */
const ENCODE_ADVICE =
  'percent-encode the user name and password (encodeURIComponent: / is %2F, ? is %3F, # is %23, @ is %40, % is %25, a space is %20)';

/**
 * `url` parsed, once it has passed the checks every database URL must pass;
 * `example` shows the expected form (`postgres://user:password@host:5432/database`).
 */
export function parseServerUrl(url: string, example: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a valid URL; expected ${example}, and ${ENCODE_ADVICE}`);
  }
  // The authority ends at the first /, ? or #: an @ after it means a user name or password held one of them.
  const afterScheme = url.slice(url.indexOf(':') + 1).replace(/^\/\//, '');
  const authorityEnd = afterScheme.search(/[/?#]/);
  if (authorityEnd >= 0 && afterScheme.slice(authorityEnd).includes('@')) {
    throw new ConfigError(
      `the URL has an @ after its host, so it cannot be read as meant; expected ${example}: ${ENCODE_ADVICE}; ` +
        'an @ in a parameter value is written %40',
    );
  }
  for (const [part, text] of [
    ['user name', parsed.username],
    ['password', parsed.password],
  ] as const) {
    try {
      decodeURIComponent(text);
    } catch {
      throw new ConfigError(`the ${part} holds a % that is not percent-encoding: ${ENCODE_ADVICE}`);
    }
  }
  return parsed;
}

/** The user name or password of a parsed URL, decoded (parseServerUrl checked that it decodes). */
export function decodedPart(text: string): string {
  return decodeURIComponent(text);
}

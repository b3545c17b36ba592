/**
 * Connection URLs carry passwords: these keep them out of every message. They
 * read the URL as text, never through the WHATWG parser, so that a URL the
 * parser refuses or misreads (a password holding an unencoded `/`, `?` or `#`)
 * is masked as well as a good one. This module imports nothing of the package:
 * the configuration, every sink and the CLI use it.
 */

export const MASK = '****';

/** `scheme://` and what follows it; a plain path has no authority and no password. */
const WITH_AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is;
/** Query parameters whose value is a secret, wherever they sit in the text. */
const SECRET_PARAMETER = /([?&;][^=&#?;]*(?:pass(?:word)?|secret|token|key)=)([^&#;]*)/gi;

/** The parts of a URL's text around its password; `password` is undefined when it has none. */
interface UrlText {
  readonly head: string;
  readonly password: string | undefined;
  readonly tail: string;
}

/**
 * The password runs from the first `:` of the user information to the last
 * `@` of the URL: a password may hold `@`, `/`, `?` and `#` unencoded, a host
 * never holds `@`. An `@` in a query value makes this mask too much, never too
 * little.
 */
function splitUrlText(url: string): UrlText {
  const match = WITH_AUTHORITY.exec(url);
  if (!match) return { head: url, password: undefined, tail: '' };
  const [, scheme = '', rest = ''] = match;
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return { head: url, password: undefined, tail: '' };
  return {
    head: scheme + rest.slice(0, colon + 1),
    password: rest.slice(colon + 1, at),
    tail: rest.slice(at),
  };
}

/** The URL with its password, and the value of any password-like parameter, replaced by ****. */
export function maskUrl(url: string): string {
  const { head, password, tail } = splitUrlText(url);
  const masked = password === undefined ? head : `${head}${password === '' ? '' : MASK}${tail}`;
  return masked.replace(SECRET_PARAMETER, `$1${MASK}`);
}

/** `text` percent-decoded, or undefined when it holds a `%` that is not percent-encoding. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** How the WHATWG URL serialiser writes `password` in a URL (pg and mysql2 see this form). */
function whatwgForm(password: string): string | undefined {
  try {
    const url = new URL('http://host');
    url.password = password;
    return url.password;
  } catch {
    return undefined;
  }
}

/**
 * Every form in which a URL's secrets may appear in a message: the password as
 * written, decoded, and encoded as encodeURIComponent and the WHATWG serialiser
 * do; the same for password-like query parameters. For redactSecrets.
 */
export function secretsOfUrl(url: string): string[] {
  const written: string[] = [];
  const { password } = splitUrlText(url);
  if (password) written.push(password);
  for (const match of url.matchAll(SECRET_PARAMETER)) if (match[2]) written.push(match[2]);
  const forms = new Set<string>();
  for (const text of written) {
    forms.add(text);
    const plain = decoded(text);
    if (plain === undefined) continue;
    forms.add(plain);
    forms.add(encodeURIComponent(plain));
    const whatwg = whatwgForm(plain);
    if (whatwg) forms.add(whatwg);
  }
  return [...forms].filter((form) => form !== '');
}

/** `message` with every occurrence of each secret replaced by ****; longer forms first, so none is left in part. */
export function redactSecrets(message: string, secrets: readonly (string | undefined)[]): string {
  const forms = [...new Set(secrets)]
    .filter((secret): secret is string => Boolean(secret))
    .sort((a, b) => b.length - a.length);
  let out = message;
  for (const form of forms) out = out.split(form).join(MASK);
  return out;
}

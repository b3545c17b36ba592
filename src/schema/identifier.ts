/** Names that reach SQL as identifiers (table, schema) are checked before any SQL runs. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export class InvalidIdentifierError extends Error {
  constructor(what: string, value: string) {
    super(
      `invalid ${what} ${JSON.stringify(value)}: use 1 to 63 letters, digits and underscores, not starting with a digit`,
    );
    this.name = 'InvalidIdentifierError';
  }
}

/** Returns `value` when it is a plain SQL identifier, else throws an error that names `what` and the value. */
export function assertIdentifier(what: string, value: string): string {
  if (!IDENTIFIER.test(value)) throw new InvalidIdentifierError(what, value);
  return value;
}

/**
 * JSON.parse that also tells on which line each value starts, so that a
 * message about a field of a hand-written file (the custom prices) can name
 * its line. The values are JSON.parse's; only the lines are worked out here.
 */

/** A path into a JSON document: object keys and array indexes. */
export type JsonPath = readonly (string | number)[];

export interface JsonWithLines {
  readonly value: unknown;
  /** The 1-based line where the value at `path` starts; the nearest ancestor's when the path is absent. */
  lineOf(path: JsonPath): number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export function parseJsonWithLines(text: string): JsonWithLines {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonSyntaxError(syntaxMessage(error), lineOfSyntaxError(text));
  }
  const lines = new Map<string, number>();
  new LineScanner(text, lines).document();
  return {
    value,
    lineOf(path: JsonPath): number {
      for (let length = path.length; length >= 0; length--) {
        const line = lines.get(pathKey(path.slice(0, length)));
        if (line !== undefined) return line;
      }
      return 1;
    },
  };
}

function pathKey(path: JsonPath): string {
  return JSON.stringify(path);
}

/** JSON.parse's message without the copy of the text Node appends to it. */
function syntaxMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split('\n')[0]!
    .replace(/, ".*$/, '')
    .replace(/ in JSON at position \d+.*$/, '');
}

/** Node 20 does not always say where a syntax error is: the scanner stops on the line it is on. */
function lineOfSyntaxError(text: string): number {
  const scanner = new LineScanner(text, new Map());
  try {
    scanner.document();
  } catch {
    // The scanner stopped where the text stops being JSON.
  }
  return scanner.currentLine;
}

const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

/** Walks a document JSON.parse accepted, noting the line each value starts on by its path. */
class LineScanner {
  private offset = 0;
  private line = 1;
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly lines: Map<string, number>,
  ) {}

  get currentLine(): number {
    return this.line;
  }

  document(): void {
    this.value();
    this.space();
    if (this.offset < this.text.length) this.fail();
  }

  private fail(): never {
    throw new Error('not JSON');
  }

  private expect(char: string): void {
    this.space();
    if (this.text[this.offset] !== char) this.fail();
    this.offset++;
  }

  private value(): void {
    this.space();
    this.lines.set(pathKey(this.path), this.line);
    const char = this.text[this.offset];
    if (char === '{') this.object();
    else if (char === '[') this.array();
    else if (char === '"') this.string();
    else this.literal();
  }

  private object(): void {
    this.offset++;
    this.space();
    if (this.text[this.offset] === '}') {
      this.offset++;
      return;
    }
    for (;;) {
      this.space();
      if (this.text[this.offset] !== '"') this.fail();
      const key = this.string();
      this.expect(':');
      this.path.push(key);
      this.value();
      this.path.pop();
      this.space();
      const next = this.text[this.offset++];
      if (next === '}') return;
      if (next !== ',') this.fail();
    }
  }

  private array(): void {
    this.offset++;
    this.space();
    if (this.text[this.offset] === ']') {
      this.offset++;
      return;
    }
    for (let index = 0; ; index++) {
      this.path.push(index);
      this.value();
      this.path.pop();
      this.space();
      const next = this.text[this.offset++];
      if (next === ']') return;
      if (next !== ',') this.fail();
    }
  }

  private string(): string {
    const start = this.offset;
    this.offset++;
    while (
      this.offset < this.text.length &&
      this.text[this.offset] !== '"' &&
      this.text[this.offset] !== '\n'
    ) {
      this.offset += this.text[this.offset] === '\\' ? 2 : 1;
    }
    if (this.text[this.offset] !== '"') this.fail();
    this.offset++;
    return JSON.parse(this.text.slice(start, this.offset)) as string;
  }

  private literal(): void {
    const start = this.offset;
    while (this.offset < this.text.length && !/[\s,\]}:]/.test(this.text[this.offset]!)) this.offset++;
    if (!LITERAL.test(this.text.slice(start, this.offset))) this.fail();
  }

  private space(): void {
    while (this.offset < this.text.length) {
      const code = this.text.charCodeAt(this.offset);
      if (code === 10) this.line++;
      else if (code !== 32 && code !== 9 && code !== 13) return;
      this.offset++;
    }
  }
}

/**
 * The code blocks of README.md, each named by the `<!-- readme-test: <name> -->`
 * comment on the line before it (invisible where the README is shown). The
 * README test runs each block by its name, so a README change that breaks a
 * snippet fails the suite, and a block with no name fails it too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/child-process.js';

export interface ReadmeBlock {
  readonly name: string | undefined;
  readonly language: string;
  readonly code: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

const MARKER = /^\s*<!--\s*readme-test:\s*([a-z0-9-]+)\s*-->\s*$/;
const FENCE = /^(\s*)```(\w*)\s*$/;

export function readmeBlocks(text = readFileSync(join(REPO, 'README.md'), 'utf8')): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let end = i + 1;
    for (; end < lines.length && !/^\s*```\s*$/.test(lines[end] as string); end++) {
      body.push((lines[end] as string).slice(indent));
    }
    if (end >= lines.length) throw new Error(`README.md:${i + 1}: a code block that is never closed`);
    const previous = i > 0 ? MARKER.exec(lines[i - 1] as string) : null;
    blocks.push({
      name: previous?.[1],
      language: open[2] as string,
      code: `${body.join('\n')}\n`,
      line: i + 1,
    });
    i = end;
  }
  return blocks;
}

/** The one block named `name`; throws when there is none or more than one. */
export function readmeBlock(blocks: readonly ReadmeBlock[], name: string): ReadmeBlock {
  const found = blocks.filter((b) => b.name === name);
  if (found.length !== 1) throw new Error(`README.md has ${found.length} blocks named ${name}, expected 1`);
  return found[0] as ReadmeBlock;
}

/** The package names of an `npm install a b c` line (comments and flags left out). */
export function npmInstallPackages(line: string): string[] {
  const command =
    line
      .replace(/#.*$/, '')
      .split(/&&|;|\|/)[0]
      ?.trim() ?? '';
  const match = /^npm install\s+(.*)$/.exec(command);
  if (!match) throw new Error(`not an npm install line: ${line}`);
  return (match[1] as string).split(/\s+/).filter((word) => word !== '' && !word.startsWith('-'));
}

/** The lines of a shell block that are commands (no blank lines, no comment lines), comments cut. */
export function shellCommands(code: string): string[] {
  return code
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

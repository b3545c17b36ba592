/** The known name nearest to a mistyped one, for messages that say "did you mean ...?". Imports nothing. */

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`, ignoring case. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // rows[i][j]: distance between the first i characters of s and the first j of t.
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (rows[s.length] as number[])[t.length] as number;
}

/** The name in `known` nearest to `name` (the first of equals), or undefined when `known` is empty. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let closest: string | undefined;
  let distance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < distance) {
      closest = candidate;
      distance = d;
    }
  }
  return closest;
}

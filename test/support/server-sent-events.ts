/**
 * Reads a Server-Sent Events body (`llamonitor serve`'s /api/live) as it
 * arrives: each event's name and its one `data:` line, in order. Blocks
 * without both (comments, keep-alives) are skipped.
 */
export async function readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) onEvent(event, data);
    }
  }
}

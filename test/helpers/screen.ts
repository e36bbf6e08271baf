/**
 * What a terminal shows after some output: the bytes are played into a
 * headless xterm.js terminal, which interprets escape codes (cursor moves,
 * erases, colours, reflow on resize) as a real terminal does; a line feed
 * also returns the cursor, as a tty's output processing (onlcr) makes it.
 *
 *   const screen = await playScreen(bytes, { cols: 80, rows: 24 });
 *   screen.lines     // every line, scrollback included, trailing blanks trimmed
 */
import xterm from '@xterm/headless';

export interface Screen {
  /** Every line of the buffer (scrollback, then the visible screen), right-trimmed, trailing empty lines dropped. */
  lines: string[];
  /** For each of `lines`: whether it continues the line before, which was too long for the width. */
  wrapped: boolean[];
  /** Whether any cell holds a colour other than the default. */
  coloured: boolean;
}

/** Plays `chunks` in order; `resizeBefore[i]` (if given) resizes the terminal before chunk i is written. */
export async function playScreen(
  chunks: string | readonly string[],
  size: { cols: number; rows: number },
  resizeBefore: ReadonlyMap<number, { cols: number; rows: number }> = new Map(),
): Promise<Screen> {
  const term = new xterm.Terminal({ cols: size.cols, rows: size.rows, scrollback: 10_000, allowProposedApi: true, convertEol: true });
  const list = typeof chunks === 'string' ? [chunks] : chunks;
  for (const [i, chunk] of list.entries()) {
    const resize = resizeBefore.get(i);
    if (resize) term.resize(resize.cols, resize.rows);
    await new Promise<void>((done) => term.write(chunk, done));
  }
  const buffer = term.buffer.active;
  const lines: string[] = [];
  const wrapped: boolean[] = [];
  let coloured = false;
  const cell = buffer.getNullCell();
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (!line) continue;
    wrapped.push(line.isWrapped);
    lines.push(line.translateToString(true));
    for (let x = 0; x < line.length && !coloured; x++) {
      line.getCell(x, cell);
      if (!cell.isFgDefault() || !cell.isBgDefault()) coloured = true;
    }
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
    wrapped.pop();
  }
  term.dispose();
  return { lines, wrapped, coloured };
}

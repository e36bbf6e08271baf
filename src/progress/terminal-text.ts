/**
 * Text for a terminal line whose width must be known exactly: a line that
 * wraps would break the in-place redraw. Step output can hold anything
 * (colour codes, carriage returns of progress bars, tabs, wide characters).
 */

// CSI sequences (colours, cursor moves), OSC sequences (titles, links) and other two-character escapes.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// control characters; tabs are expanded before these are removed
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/** What a line shows: escapes removed, only the text after the last carriage return, tabs as spaces, no control characters. */
export function visibleText(line: string): string {
  const afterCr = line.slice(line.lastIndexOf('\r') + 1);
  return afterCr.replace(ESCAPES, '').replace(/\t/g, '    ').replace(CONTROLS, '');
}

/**
 * Columns `ch` takes. Characters outside ASCII count as two: never less
 * than a terminal gives them (wide CJK and emoji take two), so a line cut to
 * fit never wraps, at worst it is cut a little early.
 */
function columns(ch: string): number {
  return (ch.codePointAt(0) ?? 0) < 0x80 ? 1 : 2;
}

/** The width of sanitised `text` by the measure above. */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += columns(ch);
  return w;
}

/** `text` cut to at most `width` columns, ending in `…` when cut. */
export function fitText(text: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const c = columns(ch);
    if (w + c > width - 1) break;
    out += ch;
    w += c;
  }
  return `${out}…`;
}

/**
 * Collects the output of an expansion as separate words: unquoted
 * whitespace (written or produced by `$VAR`) separates words, while quoted
 * or escaped text is glued into the current word.
 */
const isSpace = (ch: string): boolean => /^\s$/u.test(ch);

export class WordCollector {
  private readonly words: string[] = [];
  private word = '';
  /** Set by quoted text even when empty, so `""` glues like BuildKit's lexer does. */
  private inWord = false;

  /** An unquoted character: whitespace ends the current word. */
  addChar(ch: string): void {
    if (!isSpace(ch)) {
      this.addRaw(ch);
    } else if (this.inWord && this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
  }

  /** The unquoted value of a variable: split like unquoted text. */
  addSplit(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  /** Quoted or escaped text: part of the current word, whitespace included. */
  addRaw(text: string): void {
    this.word += text;
    this.inWord = true;
  }

  /** The words so far; an empty trailing word is dropped. */
  finish(): string[] {
    return this.word.length > 0 ? [...this.words, this.word] : [...this.words];
  }
}

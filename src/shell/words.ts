/**
 * Collects the output of an expansion as separate words: unquoted
 * whitespace (written or produced by `$VAR`) separates words, while quoted
 * or escaped text is glued into the current word.
 */
import { isSpaceChar, isSpaceCode } from './space.ts';

export class WordCollector {
  private readonly words: string[] = [];
  private word = '';
  /** Set by quoted text even when empty, so `""` glues like BuildKit's lexer does. */
  private inWord = false;

  /** An unquoted character: whitespace ends the current word. */
  addChar(ch: string): void {
    if (!isSpaceChar(ch)) {
      this.addRaw(ch);
    } else if (this.inWord && this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
  }

  /** Unquoted text or the unquoted value of a variable: whitespace in it separates words. */
  addSplit(text: string): void {
    let i = 0;
    while (i < text.length) {
      let j = i;
      while (j < text.length && !isSpaceCode(text.charCodeAt(j))) j++;
      if (j > i) this.addRaw(text.slice(i, j));
      if (j < text.length) this.addChar(text[j] ?? ' ');
      i = j + 1;
    }
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

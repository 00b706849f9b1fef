/** What a secret's value is replaced with in task output. */
export const SECRET_MASK = '***';

/**
 * Replaces every secret value in a stream of text with `***`, also when a value arrives
 * split across chunks: text that could be the start of a value is held back until the
 * next chunk (or `flush`) shows whether it is one. Overlapping occurrences are masked
 * as one run, so no character of any occurrence gets through. Memory held is bounded by
 * the longest value.
 */
export class SecretMasker {
  private readonly values: string[];
  private pending = '';
  /** Characters at the start of `pending` known to belong to an occurrence already partly masked. */
  private coveredPrefix = 0;

  constructor(values: Iterable<string>) {
    const variants = [...values].flatMap((value) => [value, value.trim()]).filter((value) => value.length > 0);
    this.values = [...new Set(variants)];
  }

  /** The text that can be shown now, masked; what might still turn into a value is kept. */
  push(text: string): string {
    if (this.values.length === 0) return text;
    const buffer = this.pending + text;
    const boundary = buffer.length - this.heldLength(buffer);
    const runs = this.occurrences(buffer);
    let shown = '';
    let from = 0;
    this.coveredPrefix = 0;
    for (const [start, end] of runs) {
      if (start >= boundary) break;
      shown += buffer.slice(from, start) + SECRET_MASK;
      from = Math.min(end, boundary);
      // An occurrence running past the boundary: its held rest is masked with the next text.
      if (end > boundary) this.coveredPrefix = end - boundary;
    }
    shown += buffer.slice(from, boundary);
    this.pending = buffer.slice(boundary);
    return shown;
  }

  /** Whatever is held back, masked: the stream has ended. */
  flush(): string {
    if (this.pending.length === 0) return '';
    const rest = this.pending;
    this.pending = '';
    let shown = '';
    let from = 0;
    for (const [start, end] of this.occurrences(rest)) {
      shown += rest.slice(from, start) + SECRET_MASK;
      from = end;
    }
    this.coveredPrefix = 0;
    return shown + rest.slice(from);
  }

  /** Sorted, merged [start, end) runs covered by any occurrence of any value (and by the carried prefix). */
  private occurrences(buffer: string): [number, number][] {
    const spans: [number, number][] = this.coveredPrefix > 0 ? [[0, this.coveredPrefix]] : [];
    for (const value of this.values) {
      for (let at = buffer.indexOf(value); at !== -1; at = buffer.indexOf(value, at + 1)) spans.push([at, at + value.length]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const span of spans) {
      const last = merged.at(-1);
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push([...span]);
    }
    return merged;
  }

  /** Length of the longest end of `buffer` that is the start (not the whole) of some value. */
  private heldLength(buffer: string): number {
    let held = 0;
    for (const value of this.values) {
      const first = value.charCodeAt(0);
      for (let at = Math.max(0, buffer.length - value.length + 1); at < buffer.length - held; at++) {
        if (buffer.charCodeAt(at) === first && value.startsWith(buffer.slice(at))) {
          held = buffer.length - at;
          break;
        }
      }
    }
    return held;
  }
}

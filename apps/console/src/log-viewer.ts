import { AnsiUp } from 'ansi_up';
import { h } from './dom.js';

export interface LogChunk {
  seq: number;
  stream: 'STDOUT' | 'STDERR' | 'SYSTEM';
  chunk: string;
  /** When the chunk was flushed; absent in chunks of older platforms. */
  at?: string;
}

interface Line {
  stream: LogChunk['stream'];
  /** The line as printed, ANSI escapes included. */
  text: string;
  /** The line as read: escapes removed, so search and wrapping see what the user sees. */
  plain: string;
  at: string;
}

const LINE_HEIGHT = 18;
/** Lines rendered above and below the visible ones, so scrolling never shows a gap. */
const OVERSCAN = 20;
/** Width of the timestamp gutter and its gap, in characters. */
const GUTTER_CHARS = 14;
const ERROR_LINE = /\b(error|fatal|failed|exception)\b/i;
const WARNING_LINE = /\b(warn|warning|deprecated)\b/i;
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

const plainOf = (text: string) => text.replace(ANSI_ESCAPE, '').replace(/\t/g, '        ');
/** `HH:MM:SS.mmm` in local time. */
const clock = (iso: string) => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
};

/**
 * A virtualised log view: only the lines in sight are in the DOM, so 100,000 lines scroll
 * smoothly. Each line carries its time; ANSI colours are rendered; long lines scroll
 * sideways or wrap. Filters by stream, counts search matches and steps through them (or
 * shows matching lines only), and follows the tail until the user scrolls up.
 */
export class LogViewer {
  readonly element: HTMLDivElement;
  /** Called whenever the counts (lines, matches, current match) change. */
  onChange: () => void = () => undefined;
  private readonly spacer: HTMLDivElement;
  private readonly probe: HTMLSpanElement;
  private readonly lines: Line[] = [];
  private visible: Line[] = [];
  /** Top of each visible line in px, one more entry than lines: the total height. */
  private tops = new Float64Array(1);
  /** Indexes (into `visible`) of the lines that contain the search. */
  private matches: number[] = [];
  private current = -1;
  private readonly open: Partial<Record<LogChunk['stream'], Line>> = {};
  private stream: LogChunk['stream'] | 'ALL' = 'ALL';
  private search = '';
  private matchingOnly = false;
  private wrap = false;
  private following = true;
  private frame = 0;
  private charWidth = 0;
  private layoutWidth = 0;
  /** Highest chunk seq added: a chunk seen twice (history, then live) is added once. */
  lastSeq = 0;

  constructor() {
    this.spacer = h('div.spacer');
    this.probe = h('span.probe', { ariaHidden: 'true' }, 'x'.repeat(100));
    this.element = h('div.logs', { tabIndex: 0 }, this.probe, this.spacer);
    this.element.addEventListener('scroll', () => {
      const { scrollTop, clientHeight, scrollHeight } = this.element;
      this.following = scrollTop + clientHeight >= scrollHeight - LINE_HEIGHT;
      this.schedule();
    });
    new ResizeObserver(() => {
      if (this.wrap && this.element.clientWidth !== this.layoutWidth) this.layout();
    }).observe(this.element);
  }

  /** Adds chunks in seq order; a chunk already added is skipped. */
  add(chunks: LogChunk[]): void {
    for (const chunk of chunks) {
      if (chunk.seq <= this.lastSeq) continue;
      this.lastSeq = chunk.seq;
      const at = chunk.at ?? new Date().toISOString();
      const parts = chunk.chunk.split('\n');
      // A chunk flushed mid-line leaves its stream's last line open: the next chunk of that stream continues it.
      const open = this.open[chunk.stream];
      if (open) {
        open.text += parts.shift();
        open.plain = plainOf(open.text);
      }
      const finished = parts.at(-1) === '';
      if (finished) parts.pop();
      for (const text of parts) this.lines.push({ stream: chunk.stream, text, plain: plainOf(text), at });
      this.open[chunk.stream] = finished ? undefined : parts.length ? this.lines.at(-1) : open;
    }
    this.refilter();
  }

  setStream(stream: LogChunk['stream'] | 'ALL'): void {
    this.stream = stream;
    this.refilter();
  }

  setSearch(search: string): void {
    this.search = search;
    this.refilter();
  }

  /** Shows only the lines that contain the search (all lines while the search is empty). */
  setMatchingOnly(matchingOnly: boolean): void {
    this.matchingOnly = matchingOnly;
    this.refilter();
  }

  /** Wraps long lines instead of scrolling sideways. */
  setWrap(wrap: boolean): void {
    this.wrap = wrap;
    this.element.classList.toggle('wrap', wrap);
    this.layout();
  }

  get lineCount(): number {
    return this.visible.length;
  }

  get matchCount(): number {
    return this.matches.length;
  }

  /** 1-based position of the current match, 0 when none is selected. */
  get currentMatch(): number {
    return this.current + 1;
  }

  /** Moves to the next (or, with -1, previous) match, wrapping around; false when there is none. */
  step(direction: 1 | -1): boolean {
    if (!this.matches.length) return false;
    this.current = (this.current + direction + this.matches.length) % this.matches.length;
    this.reveal(this.matches[this.current]!);
    return true;
  }

  /** Scrolls to the first visible line that reads as an error; false when there is none. */
  jumpToFirstError(): boolean {
    const index = this.visible.findIndex((line) => ERROR_LINE.test(line.plain));
    if (index === -1) return false;
    this.reveal(index);
    return true;
  }

  /** The visible lines as plain text, each with its ISO time and stream, for download. */
  asText(): string {
    return this.visible.map((line) => `${line.at} ${line.stream.padEnd(6)} ${line.plain}\n`).join('');
  }

  private reveal(index: number): void {
    this.following = false;
    this.element.scrollTop = Math.max(0, this.tops[index]! - this.element.clientHeight / 3);
    this.schedule();
    this.onChange();
  }

  private refilter(): void {
    const needle = this.search.toLowerCase();
    const byStream = this.stream === 'ALL' ? this.lines : this.lines.filter((line) => line.stream === this.stream);
    this.visible = needle && this.matchingOnly ? byStream.filter((line) => line.plain.toLowerCase().includes(needle)) : byStream;
    const previous = this.matches[this.current];
    this.matches = [];
    if (needle) this.visible.forEach((line, index) => line.plain.toLowerCase().includes(needle) && this.matches.push(index));
    this.current = previous === undefined ? -1 : this.matches.indexOf(previous);
    this.layout();
    this.onChange();
  }

  /** Positions every visible line: one row each, or as many rows as the line wraps to. */
  private layout(): void {
    this.layoutWidth = this.element.clientWidth;
    if (!this.charWidth) this.charWidth = this.probe.getBoundingClientRect().width / 100 || 7.5;
    const columns = Math.max(10, Math.floor((this.layoutWidth - 20) / this.charWidth) - GUTTER_CHARS);
    const tops = new Float64Array(this.visible.length + 1);
    let widest = 0;
    for (let index = 0; index < this.visible.length; index++) {
      const length = this.visible[index]!.plain.length;
      const rows = this.wrap ? Math.max(1, Math.ceil(length / columns)) : 1;
      tops[index + 1] = tops[index]! + rows * LINE_HEIGHT;
      if (length > widest) widest = length;
    }
    this.tops = tops;
    this.spacer.style.height = `${tops[this.visible.length]}px`;
    this.spacer.style.width = this.wrap ? '' : `${Math.ceil((widest + GUTTER_CHARS) * this.charWidth) + 20}px`;
    if (this.following) this.element.scrollTop = this.element.scrollHeight;
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  /** The index of the line at `y` px (binary search over the line tops). */
  private lineAt(y: number): number {
    let low = 0;
    let high = this.visible.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.tops[middle + 1]! <= y) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private render(): void {
    this.frame = 0;
    const { scrollTop, clientHeight } = this.element;
    const first = Math.max(0, this.lineAt(scrollTop) - OVERSCAN);
    const last = Math.min(this.visible.length, this.lineAt(scrollTop + clientHeight) + 1 + OVERSCAN);
    const currentLine = this.matches[this.current];
    const rows: HTMLElement[] = [];
    for (let index = first; index < last; index++) {
      const line = this.visible[index]!;
      const kind = ERROR_LINE.test(line.plain) ? 'error-line' : WARNING_LINE.test(line.plain) ? 'warn-line' : '';
      const height = this.tops[index + 1]! - this.tops[index]!;
      const text = h('span.text');
      // A fresh converter per line: lines render out of order, so no colour may carry over from another.
      text.innerHTML = new AnsiUp().ansi_to_html(line.text);
      if (this.search) highlight(text, this.search);
      rows.push(
        h(
          'div.line',
          {
            className: ['line', line.stream, kind, index === currentLine ? 'current-match' : ''].filter(Boolean).join(' '),
            style: `top:${this.tops[index]}px;height:${height}px`,
          },
          h('span.ts', { title: line.at }, clock(line.at)),
          text,
        ),
      );
    }
    this.spacer.replaceChildren(...rows);
  }
}

/** Wraps every case-insensitive occurrence of `search` in the element's text nodes in <mark>. */
function highlight(element: HTMLElement, search: string): void {
  const needle = search.toLowerCase();
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const nodes: Text[] = [];
  while (walker.nextNode()) nodes.push(walker.currentNode as Text);
  for (const node of nodes) {
    const text = node.data;
    const lower = text.toLowerCase();
    if (!lower.includes(needle)) continue;
    const parts: Node[] = [];
    let from = 0;
    for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
      parts.push(document.createTextNode(text.slice(from, at)), h('mark', {}, text.slice(at, at + needle.length)));
      from = at + needle.length;
    }
    parts.push(document.createTextNode(text.slice(from)));
    node.replaceWith(...parts);
  }
}

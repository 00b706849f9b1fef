import { h } from './dom.js';

export interface LogChunk {
  seq: number;
  stream: 'STDOUT' | 'STDERR' | 'SYSTEM';
  chunk: string;
}

interface Line {
  stream: LogChunk['stream'];
  text: string;
}

const LINE_HEIGHT = 18;
/** Lines rendered above and below the visible ones, so scrolling never shows a gap. */
const OVERSCAN = 20;
const ERROR_LINE = /\b(error|fatal|failed|exception)\b/i;
const WARNING_LINE = /\b(warn|warning|deprecated)\b/i;

/**
 * A virtualised log view: only the lines in sight are in the DOM, so 100,000 lines scroll
 * smoothly. Filters by stream, highlights search matches and error/warning lines, and
 * follows the tail until the user scrolls up.
 */
export class LogViewer {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly lines: Line[] = [];
  private visible: Line[] = [];
  private readonly open: Partial<Record<LogChunk['stream'], Line>> = {};
  private stream: LogChunk['stream'] | 'ALL' = 'ALL';
  private search = '';
  private following = true;
  private frame = 0;
  /** Highest chunk seq added: a chunk seen twice (history, then live) is added once. */
  lastSeq = 0;

  constructor() {
    this.spacer = h('div.spacer');
    this.element = h('div.logs', { tabIndex: 0 }, this.spacer);
    this.element.addEventListener('scroll', () => {
      const { scrollTop, clientHeight, scrollHeight } = this.element;
      this.following = scrollTop + clientHeight >= scrollHeight - LINE_HEIGHT;
      this.schedule();
    });
  }

  /** Adds chunks in seq order; a chunk already added is skipped. */
  add(chunks: LogChunk[]): void {
    for (const chunk of chunks) {
      if (chunk.seq <= this.lastSeq) continue;
      this.lastSeq = chunk.seq;
      const parts = chunk.chunk.split('\n');
      // A chunk flushed mid-line leaves its stream's last line open: the next chunk of that stream continues it.
      const open = this.open[chunk.stream];
      if (open) open.text += parts.shift();
      const finished = parts.at(-1) === '';
      if (finished) parts.pop();
      for (const text of parts) this.lines.push({ stream: chunk.stream, text });
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
    this.schedule();
  }

  get lineCount(): number {
    return this.visible.length;
  }

  private refilter(): void {
    this.visible = this.stream === 'ALL' ? this.lines : this.lines.filter((line) => line.stream === this.stream);
    this.spacer.style.height = `${this.visible.length * LINE_HEIGHT}px`;
    if (this.following) this.element.scrollTop = this.element.scrollHeight;
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  private render(): void {
    this.frame = 0;
    const first = Math.max(0, Math.floor(this.element.scrollTop / LINE_HEIGHT) - OVERSCAN);
    const last = Math.min(this.visible.length, Math.ceil((this.element.scrollTop + this.element.clientHeight) / LINE_HEIGHT) + OVERSCAN);
    const rows: HTMLElement[] = [];
    for (let index = first; index < last; index++) {
      const line = this.visible[index]!;
      const classes = [line.stream, ERROR_LINE.test(line.text) ? 'error-line' : WARNING_LINE.test(line.text) ? 'warn-line' : ''].filter(
        Boolean,
      );
      const row = h('div.line', { className: `line ${classes.join(' ')}`, style: `top:${index * LINE_HEIGHT}px` });
      row.append(...highlight(line.text, this.search));
      rows.push(row);
    }
    this.spacer.replaceChildren(...rows);
  }
}

/** The text with every case-insensitive occurrence of `search` wrapped in <mark>. */
function highlight(text: string, search: string): Node[] {
  if (!search) return [document.createTextNode(text)];
  const nodes: Node[] = [];
  const lower = text.toLowerCase();
  const needle = search.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, from)) {
    nodes.push(document.createTextNode(text.slice(from, at)), h('mark', {}, text.slice(at, at + needle.length)));
    from = at + needle.length;
  }
  nodes.push(document.createTextNode(text.slice(from)));
  return nodes;
}

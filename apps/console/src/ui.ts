import { html } from 'htm/preact';
import { render, type ComponentChildren, type VNode } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { relative, ticker, time } from './dom.js';

export { html };

/** Shows a Preact tree as the page; returns what unmounts it (a page's leave). */
export function mountView(view: VNode): () => void {
  const page = document.getElementById('page')!;
  page.replaceChildren();
  render(view, page);
  const stopTicker = ticker();
  return () => {
    stopTicker();
    render(null, page);
  };
}

/**
 * What a page of records needs: the records (undefined until the first read), the last
 * error, a reload, and `run` for an action, which shows its error and reads the records again.
 */
export function useRecords<T>(
  load: () => Promise<T>,
  /** What `load` reads by (an id): a change reads again. */
  keys: unknown[] = [],
): {
  records: T | undefined;
  error: string;
  reload: () => Promise<void>;
  run: (work: () => Promise<unknown>) => Promise<void>;
} {
  const [records, setRecords] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const latest = useRef(load);
  latest.current = load;
  const reload = useCallback(async () => {
    try {
      setRecords(await latest.current());
    } catch (failure) {
      setError((failure as Error).message);
    }
  }, keys);
  const run = useCallback(
    async (work: () => Promise<unknown>) => {
      setError('');
      try {
        await work();
      } catch (failure) {
        setError((failure as Error).message);
      }
      await reload();
    },
    [reload],
  );
  useEffect(() => void reload(), [reload]);
  return { records, error, reload, run };
}

/** A status badge, coloured by status. */
export const Badge = ({ status }: { status: string }) => html`<span class=${`status ${status}`} data-status=${status}>${status}</span>`;

/** A time shown relative to now (kept current by the page's ticker), the exact time on hover. */
export const When = ({ at }: { at?: string | null }) =>
  at ? html`<time datetime=${at} title=${time(at)} data-relative=${at}>${relative(at)}</time>` : html`—`;

/** A table in a box that scrolls sideways on its own; columns in `hideNarrow` are left out on a phone. */
export const Table = ({ titles, hideNarrow = [], children }: { titles: string[]; hideNarrow?: string[]; children: ComponentChildren }) =>
  html`<div class="table-wrap">
    <table>
      <thead>
        <tr>
          ${titles.map((title) => html`<th class=${hideNarrow.includes(title) ? 'hide-narrow' : ''}>${title}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${children}
      </tbody>
    </table>
  </div>`;

/** Messages that stay until dismissed, newest first (a secret shown once must not vanish on its own). */
export function useNotices(): [VNode, (content: ComponentChildren) => void] {
  const [notices, setNotices] = useState<{ id: number; content: ComponentChildren }[]>([]);
  const add = useCallback((content: ComponentChildren) => setNotices((list) => [{ id: Date.now() + Math.random(), content }, ...list]), []);
  const view = html`<div>
    ${notices.map(
      (notice) =>
        html`<div class="notice" role="status" key=${notice.id}>
          <div class="grow">${notice.content}</div>
          <button
            class="secondary small"
            type="button"
            data-dismiss
            onClick=${() => setNotices((list) => list.filter((other) => other !== notice))}
          >
            Dismiss
          </button>
        </div>`,
    )}
  </div>`;
  return [view, add];
}

/** A button that copies `text` to the clipboard and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard (an insecure origin): let the user copy it from a prompt.
      window.prompt('Copy:', text);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return html`<button class="secondary small" type="button" onClick=${copy}>${copied ? 'Copied' : label}</button>`;
}

/** The value of a form field by name. */
export const field = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;

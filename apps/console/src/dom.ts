type Child = Node | string | null | undefined | false;

/** Builds an element: `h('button.secondary', { onclick }, 'Cancel')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tagAndClasses: K | `${K}.${string}`,
  props: Partial<Record<string, unknown>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const [tag, ...classes] = tagAndClasses.split('.') as [K, ...string[]];
  const element = document.createElement(tag);
  if (classes.length) element.className = classes.join(' ');
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value as EventListener);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name in element && name !== 'list') (element as unknown as Record<string, unknown>)[name] = value;
    else element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** A readable local time, or a dash. */
export const time = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/** A span of time: `850 ms`, `4.2 s`, `3 min 20 s`, `2 h 5 min`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long ago (or, for a future time, how soon): `12 s ago`, `in 3 min`. */
export function relative(iso?: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const delta = now - Date.parse(iso);
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `${duration(delta).replace(/ \d+ s$/, '')} ago` : `in ${duration(-delta).replace(/ \d+ s$/, '')}`;
}

/** Refreshes every relative time on the page once a second; returns the stop. */
export function ticker(): () => void {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const element of document.querySelectorAll<HTMLElement>('time[data-relative]')) {
      if (element.dataset.relative) element.textContent = relative(element.dataset.relative, now);
    }
  }, 1000);
  return () => clearInterval(timer);
}

/**
 * Asks before something that cannot be undone: a modal dialog naming what goes, answered
 * by its buttons (or Escape). Resolves true only on the confirming button.
 */
export function confirmAction(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog.confirm',
      {},
      h('p', {}, message),
      h(
        'form.row',
        { method: 'dialog' },
        h('button.secondary', { value: 'cancel', type: 'submit' }, 'Keep it'),
        h('button.danger', { value: 'confirm', type: 'submit', dataset: { confirm: '' } }, confirmLabel),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

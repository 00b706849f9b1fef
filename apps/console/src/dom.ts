/** Builds an element: `h('button.secondary', { onclick }, 'Cancel')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tagAndClasses: K | `${K}.${string}`,
  props: Partial<Record<string, unknown>> = {},
  ...children: (Node | string | null | undefined | false)[]
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

/** A status badge (`SUCCESS`, `ONLINE`, `READY`, ...), coloured by status. */
export const badge = (status: string) => h(`span.status.${status}`, { dataset: { status } }, status);

/** A readable local time, or a dash. */
export const time = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

/** Replaces the page's content. */
export function mount(...children: Node[]): void {
  document.getElementById('page')!.replaceChildren(...children);
}

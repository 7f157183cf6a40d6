// A tiny element builder and the form pieces every view shares; no framework.

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>

/**
 * Builds an element: `on*` attributes become listeners, `true` sets a boolean attribute, and
 * `false`/null/undefined leave it out.
 *
 * @example h('button', { type: 'submit', onclick: go }, 'Detect')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value)
    else if (value === true) el.setAttribute(name, '')
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}

/** A control wrapped in its label, so `control.labels` names it for assistive technology. */
export const field = (label: string, control: HTMLElement, hint?: string) =>
  h('label', { class: 'field' }, h('span', {}, label), control, hint ? h('small', {}, hint) : null)

/** An error line (role=alert) that shows an API error envelope's message. */
export function errorLine() {
  const el = h('p', { class: 'error', role: 'alert', hidden: true })
  return {
    el,
    show(e: unknown) {
      el.textContent = e instanceof Error ? e.message : String(e)
      el.hidden = false
    },
    clear() {
      el.hidden = true
      el.textContent = ''
    },
  }
}

/** A view: its root element, and what to stop when the route changes (polling, streams). */
export interface View {
  el: HTMLElement
  dispose?(): void
}

// Lab UI entry: the API key bar and hash routes (#/detect, #/generate, #/experiments[/<id>]).
// Served as static assets by the Worker; scripts/build-ui.mjs bundles this folder into worker/public/.
import { adoptKeyFromFragment, apiKey, setApiKey } from './api.ts'
import { detectView } from './detect.ts'
import type { View } from './dom.ts'
import { experimentView } from './experiment-detail.ts'
import { experimentsView } from './experiments.ts'
import { generateView } from './generate.ts'

const routes: [RegExp, (m: RegExpExecArray) => View][] = [
  [/^#\/generate$/, () => generateView()],
  [/^#\/experiments\/([^/]+)$/, (m) => experimentView(decodeURIComponent(m[1]))],
  [/^#\/experiments$/, () => experimentsView()],
  [/^(#\/detect)?$/, () => detectView()],
]

const main = document.getElementById('view')!
const keyInput = document.getElementById('api-key') as HTMLInputElement
let current: View | null = null

function route() {
  if (adoptKeyFromFragment()) keyInput.value = apiKey()
  const hash = location.hash === '#/' || location.hash === '#' ? '' : location.hash
  const match = routes.map(([re, view]) => [re.exec(hash), view] as const).find(([m]) => m)
  if (!match) {
    location.replace('#/detect')
    return
  }
  current?.dispose?.()
  current = match[1](match[0]!)
  main.replaceChildren(current.el)
  const section = hash.split('/')[1] || 'detect'
  for (const a of Array.from(document.querySelectorAll<HTMLAnchorElement>('nav a'))) {
    if (a.hash === `#/${section}`) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  // Moves focus to the new view's heading so screen readers announce the page change.
  main.querySelector<HTMLElement>('h1')?.focus()
}

keyInput.value = apiKey()
document.getElementById('key-form')!.addEventListener('submit', (e) => {
  e.preventDefault()
  setApiKey(keyInput.value.trim())
  route()
})
window.addEventListener('hashchange', route)
route()

// Chat templates by id: how a model turns chat messages into the text it continues. A model's
// registry entry names one (models/registry.json `chatTemplate`), so the origin renders messages
// without knowing the model.
import type { z } from 'zod'
import type { ChatMessageSchema } from './protocol.ts'

export type ChatMessage = z.infer<typeof ChatMessageSchema>

/**
 * `plain`: base models trained on running text (brown-lm) know no roles, so the contents become
 * paragraphs and the model writes the next one.
 */
function renderPlain(messages: readonly ChatMessage[]): string {
  return `${messages.map((m) => m.content.trim()).join('\n\n')}\n\n`
}

/**
 * `chatml`: Qwen's instruct format. Each message is `<|im_start|>role\n…<|im_end|>\n`, and the
 * prompt ends with an open assistant turn. Special-token text inside a message is removed so a
 * message cannot forge a turn of another role.
 */
function renderChatml(messages: readonly ChatMessage[]): string {
  const clean = (s: string) => s.replace(/<\|im_(start|end)\|>/g, '')
  const turns = messages.map((m) => `<|im_start|>${m.role}\n${clean(m.content)}<|im_end|>\n`)
  return `${turns.join('')}<|im_start|>assistant\n`
}

const TEMPLATES: Readonly<Record<string, (messages: readonly ChatMessage[]) => string>> = Object.freeze({
  plain: renderPlain,
  chatml: renderChatml,
})

export const chatTemplateIds = Object.keys(TEMPLATES)

/**
 * The prompt text for `messages` under template `id`.
 *
 * @example
 * renderChat('chatml', [{ role: 'user', content: 'Hi' }])
 * // '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
 */
export function renderChat(id: string, messages: readonly ChatMessage[]): string {
  const render = Object.hasOwn(TEMPLATES, id) ? TEMPLATES[id] : undefined
  if (!render) throw new Error(`unknown chat template "${id}"; known: ${chatTemplateIds.join(', ')}`)
  return render(messages)
}

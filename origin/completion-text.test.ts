// CompletionText on the real Qwen3 tokenizer: streamed pieces always concatenate to the final text,
// split characters appear whole on the token that completes them, and stop sequences are trimmed
// without ever having been streamed.
import { describe, expect, it } from 'vitest'
import { loadTokenizer } from '../cli/tokenizers-node.ts'
import { CompletionText, type TokenPiece } from './completion-text.ts'

const tokenizer = loadTokenizer('qwen3')

function feed(text: string, stops: string[]) {
  const ids = Array.from(tokenizer.encode(text))
  const c = new CompletionText(tokenizer, stops)
  const pieces: TokenPiece[] = []
  for (const id of ids) {
    pieces.push(...c.push(id))
    if (c.stopped) break
  }
  pieces.push(...c.flush())
  return { c, ids, pieces, streamed: pieces.map((p) => p.text).join('') }
}

describe('CompletionText', () => {
  it('streams every token once, in order, and the pieces make the decoded text', () => {
    const text = 'The jury said it did find that many of Georgia’s registration laws are outmoded.'
    const { c, ids, pieces, streamed } = feed(text, [])
    expect(c.text).toBe(tokenizer.decode(ids))
    expect(streamed).toBe(c.text)
    expect(pieces.map((p) => p.index)).toEqual(ids.map((_, i) => i))
    expect(pieces.map((p) => p.token)).toEqual(ids)
    expect(c.tokens).toEqual(ids)
  })

  it('shows a character split across byte tokens on the token that completes it', () => {
    // 'a𓀀b' is a, three byte tokens for 𓀀, b in Qwen3
    const { pieces, streamed } = feed('a𓀀b', [])
    expect(pieces.map((p) => p.text)).toEqual(['a', '', '', '𓀀', 'b'])
    expect(streamed).toBe('a𓀀b')
  })

  it('ends at a stop sequence that spans tokens: text trimmed, nothing of it streamed', () => {
    const text = 'He said the county had no money. Then the jury went home for the night.'
    const { c, pieces, streamed } = feed(text, ['jury went'])
    expect(c.stopped).toBe(true)
    expect(c.text).toBe('He said the county had no money. Then the ')
    expect(streamed).toBe(c.text)
    // kept tokens are those that contribute text before the stop: ' jury' straddles the cut, so it
    // stays in the ids and streams only its leading space
    expect(tokenizer.decode(c.tokens)).toBe('He said the county had no money. Then the jury')
    expect(pieces.length).toBe(c.tokens.length)
    expect(pieces.at(-1)).toMatchObject({ token: c.tokens.at(-1), text: ' ' })
  })

  it('holds back a possible stop prefix and releases it when the text goes elsewhere', () => {
    const c = new CompletionText(tokenizer, ['\n\nTHE END'])
    const ids = Array.from(tokenizer.encode('one\n\ntwo'))
    const streamed: string[] = []
    for (const id of ids) streamed.push(...c.push(id).map((p) => p.text))
    // "one" is out, "\n\n" waits (it could start the stop), "two" shows it was not a stop
    expect(streamed.join('')).toBe('one\n\ntwo')
    const held = new CompletionText(tokenizer, ['\n\nTHE END'])
    const out = Array.from(tokenizer.encode('one\n\n')).flatMap((id) => held.push(id).map((p) => p.text))
    expect(out.join('')).toBe('one')
    expect(held.flush().map((p) => p.text)).toEqual(['\n\n'])
  })

  it('takes the earliest of several stop sequences, and a stop at the very start gives empty text', () => {
    const first = feed('alpha beta gamma delta', ['gamma', ' beta'])
    expect(first.c.text).toBe('alpha')
    const start = feed('Stop here please', ['Stop'])
    expect(start.c.text).toBe('')
    expect(start.c.tokens).toEqual([])
    expect(start.pieces).toEqual([])
    expect(() => start.c.push(1)).toThrow(/already ended/)
  })
})

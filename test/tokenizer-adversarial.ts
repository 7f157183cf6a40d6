// Adversarial inputs for tokenizer exactness tests: hand-picked edge cases plus seeded random
// mixtures of scripts, emoji, whitespace, digits, controls, lone surrogates and special-token
// strings. Deterministic, so a failure names a reproducible case.

const SPECIALS = [
  '<|im_end|>',
  '<|im_start|>',
  '<|endoftext|>',
  '<think>',
  '</think>',
  '<tool_call>',
  '<|fim_prefix|>',
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|eot_id|>',
  '<|reserved_special_token_0|>',
  '<|reserved_special_token_250|>',
  '<|im_end|',
  '<|',
  '|>',
  '<|reserved_special_token_',
]

const FIXED = [
  '',
  ' ',
  "I'M don'T can't 'S 'll've ''s 'RE 'Ve 'mM 'LL 'd'D It's THEY'RE we'Ll",
  "'s'sad 'tis ' s '",
  'a<|im_end|>b',
  '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  '<|im_end|><|im_end|> <|im_end|>  x',
  '<think>x</think><tool_call>{"a":1}</tool_call>',
  '<|begin_of_text|>Hello<|eot_id|><|reserved_special_token_12|>',
  '   \n\n  \t\r\n x \n',
  '\u00a0\u3000\u2028\u2029\u0085\u1680\u2000\u200a\u202f\u205f x\u00a0y',
  '\t\tword \u00a0word \u3000字',
  '1234567890123 4 56 789 1,000,000.00 3.14159',
  '\u0661\u0662\u0663\u0664 \u2167\u216b \u00bd\u00b2\u00b3 \u2460\u2461 \uff11\uff12\uff13',
  'e\u0301 A\u030a \u212b \u2126 \u1100\u1161\u11a8 \u0041\u0308\u0304',
  '\u4e16\u754c\u4f60\u597d\uff0c\u3053\u3093\u306b\u3061\u306f\u4e16\u754c\u3002\ud55c\uad6d\uc5b4',
  '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466} \u{1f1fa}\u{1f1f8}\u{1f44d}\u{1f3fd} \u2764\ufe0f x\u{1f642}y',
  '\ud800 \udc00a a\ud83d \ud83d\ud83d \udfff\ud800x',
  '\u0000\u0001\u0008\u000b\u000c\u001b\u001f\u007f\u0080\u009f \ufeffBOM \u200bzw\u200c\u200d',
  '\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u0928\u092e\u0938\u094d\u0924\u0947',
  'caf\u00e9 na\u00efve \u0416\u0436 \u03a9\u03c9 \u00df\u1e9e \u0130\u0131 \ufb01',
  `${'a'.repeat(1000)} ${'ab'.repeat(300)}`,
  `${' '.repeat(5000)}x${'\n'.repeat(3000)}y${'\t \n'.repeat(500)}`,
  `${'9'.repeat(4001)}.${'0123456789'.repeat(50)}`,
  `${'!?.,;'.repeat(400)}\n\n${'-'.repeat(2000)}`,
  `\u{1f600}`.repeat(300),
  '\u4e00'.repeat(2000),
  'x\r\ny\r\rz\n\r',
  'Hello world, this is a test.',
]

const POOLS: string[][] = [
  [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  [...'0123456789'],
  [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', '\r\n', '\r', '\u00a0', '\u3000', '\u2028', '\u0085'],
  [...'.,;:!?-_()[]{}"\'`~@#$%^&*+=<>/\\|'],
  ["'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "n't"],
  [...'\u4e16\u754c\u4f60\u597d\u6587\u5b57\u3042\u3044\u30a2\u30ab\ud55c\uae00'],
  [
    '\u{1f468}\u200d\u{1f469}',
    '\u{1f44d}\u{1f3fd}',
    '\u{1f642}',
    '\u2764\ufe0f',
    '\u{1f1fa}\u{1f1f8}',
    '\u200d',
  ],
  [...'\u0416\u0436\u03a9\u03c9\u00e9\u00ef\u00df\u0645\u0631\u05e9\u0e2a\u0928\u094d\u0301\u0308'],
  ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\ufeff', '\u200b', '\ud800', '\udc00', '\ud83d'],
  SPECIALS,
  [...'\u0661\u0662\u2167\u00bd\u00b2\u2460\uff11'],
  ['e\u0301', 'A\u030a', '\u212b', '\u1100\u1161', '\u2126'],
]

// xorshift32: reproducible across runs and platforms
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 4294967296
  }
}

/** Hand-picked cases, then `count` random mixtures (lengths up to ~300 code units). */
export function adversarialTexts(count = 2000, seed = 8): string[] {
  const rand = rng(seed)
  const out = [...FIXED]
  for (let k = 0; k < count; k++) {
    // each text draws from a few pools, so runs of one kind meet runs of another
    const pools = Array.from(
      { length: 1 + Math.floor(rand() * 4) },
      () => POOLS[Math.floor(rand() * POOLS.length)],
    )
    const parts = 1 + Math.floor(rand() * 60)
    let s = ''
    for (let p = 0; p < parts; p++) {
      const pool = pools[Math.floor(rand() * pools.length)]
      const run = 1 + Math.floor(rand() * (rand() < 0.1 ? 40 : 5))
      for (let r = 0; r < run; r++) s += pool[Math.floor(rand() * pool.length)]
    }
    out.push(s)
  }
  return out
}

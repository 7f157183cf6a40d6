// Generators for fuzzing the edge API with fast-check: a JSON syntax tree that can hold what
// JSON.stringify cannot write (raw number literals, raw invalid UTF-8 bytes inside strings, own
// "__proto__" keys, very deep nesting), hostile leaves, values guided by a route's published JSON schema
// (mostly the right shape, sometimes not), whole bodies (including non-JSON and wrong media types) and
// path ids. Shared by fuzz-routes.test.ts (in-memory store) and fuzz-postgres.test.ts.
import fc from 'fast-check'

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const

// ---- A JSON syntax tree that can hold what JSON.stringify cannot write: raw number literals,
// raw bytes (invalid UTF-8) inside strings, own "__proto__" keys, very deep nesting.
export type J =
  | null
  | boolean
  | number
  | string
  | { k: 'raw'; s: string }
  | { k: 'bytes'; b: number[] }
  | { k: 'obj'; e: [string, J][] }
  | { k: 'arr'; a: J[] }

const raw = (s: string): J => ({ k: 'raw', s })

function serialise(j: J, out: Buffer[]): void {
  if (j === null || typeof j !== 'object') {
    // JSON.stringify escapes lone surrogates (\ud800), so the text is valid UTF-8.
    out.push(Buffer.from(JSON.stringify(j) ?? 'null'))
  } else if (j.k === 'raw') out.push(Buffer.from(j.s))
  else if (j.k === 'bytes') out.push(Buffer.from('"'), Buffer.from(j.b), Buffer.from('"'))
  else if (j.k === 'arr') {
    out.push(Buffer.from('['))
    j.a.forEach((v, i) => {
      if (i) out.push(Buffer.from(','))
      serialise(v, out)
    })
    out.push(Buffer.from(']'))
  } else {
    out.push(Buffer.from('{'))
    j.e.forEach(([key, v], i) => {
      out.push(Buffer.from(`${i ? ',' : ''}${JSON.stringify(key)}:`))
      serialise(v, out)
    })
    out.push(Buffer.from('}'))
  }
}
export const bytesOf = (j: J) => {
  const out: Buffer[] = []
  serialise(j, out)
  return new Uint8Array(Buffer.concat(out))
}

export interface Body {
  bytes?: Uint8Array
  type?: string
  label: string
}

// ---- Hostile leaves

const controlChars = fc.string({
  unit: fc.integer({ min: 0, max: 0x9f }).map((c) => (c < 0x20 || c >= 0x7f ? String.fromCharCode(c) : 'a')),
  maxLength: 20,
})
const invalidUtf8: fc.Arbitrary<J> = fc
  .array(
    fc.constantFrom(
      [0xff],
      [0xfe],
      [0xc0, 0x80], // overlong NUL
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xe2, 0x82], // truncated sequence
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0x80],
      [0x61],
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => ({ k: 'bytes', b: parts.flat() }))

export function strings(interesting: readonly string[], long = true): fc.Arbitrary<J> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 20, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 20, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) }, // lone surrogates included
    { weight: 10, arbitrary: controlChars },
    { weight: 20, arbitrary: fc.constantFrom(...interesting) },
    { weight: 5, arbitrary: invalidUtf8 },
    {
      weight: long ? 1 : 0, // long strings: rare, so the whole run stays within a few minutes
      arbitrary: fc
        .tuple(
          fc.constantFrom(4096, 70_000, 200_001),
          fc.constantFrom('a', 'é', '\u0301', '😀', ' ', '\u0000'),
        )
        .map(([n, c]) => c.repeat(n)),
    },
  )
}

const numbers: fc.Arbitrary<J> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_VALUE),
  fc.constantFrom('1e400', '-1e400', '1e-400', `1${'0'.repeat(400)}`, '9007199254740993', '-0.0e0').map(raw),
)

/** Deep nesting as raw text (no recursion on our side): arrays, objects, or both. */
const deep: fc.Arbitrary<J> = fc
  .tuple(fc.constantFrom(10, 100, 1000, 10_000, 100_000), fc.constantFrom('[', '{"a":', '{"__proto__":['))
  .map(([n, open]) => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : ']}'
    return raw(`${open.repeat(n)}0${close.repeat(n)}`)
  })

export function anyJson(keys: readonly string[], interesting: readonly string[]): fc.Arbitrary<J> {
  const key = fc.oneof(fc.constantFrom(...PROTO_KEYS, ...keys), fc.string({ maxLength: 8 }))
  const leaf = fc.oneof(fc.constant(null), fc.boolean(), numbers, strings(interesting))
  return fc.letrec<{ v: J }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 6, arbitrary: leaf },
      { weight: 1, arbitrary: fc.array(tie('v'), { maxLength: 4 }).map((a): J => ({ k: 'arr', a })) },
      {
        weight: 1,
        arbitrary: fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((e): J => ({ k: 'obj', e })),
      },
    ),
  })).v
}

// ---- Schema-guided values: the route's own fields, mostly of the right shape, sometimes not.

export type Schema = any

export interface Ctx {
  resolve(s: Schema): Schema
  interesting: readonly string[]
  /** Field names to try in open objects (scheme parameters, reserved names). */
  openKeys: readonly string[]
}

export function fromSchema(input: Schema, ctx: Ctx, depth = 0): fc.Arbitrary<J> {
  const s = ctx.resolve(input ?? {})
  const wrong = anyJson(ctx.openKeys, ctx.interesting)
  if (depth > 5) return wrong
  const alts: fc.Arbitrary<J>[] = []
  if (Array.isArray(s.anyOf)) for (const x of s.anyOf) alts.push(fromSchema(x, ctx, depth + 1))
  const enumValues = Array.isArray(s.enum) ? fc.constantFrom(...(s.enum as J[])) : null
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : []
  for (const t of types) {
    if (t === 'string') alts.push(strings(ctx.interesting))
    else if (t === 'boolean') alts.push(fc.boolean())
    else if (t === 'null') alts.push(fc.constant(null))
    else if (t === 'integer' || t === 'number') {
      const min = Math.max(s.minimum ?? s.exclusiveMinimum ?? -1e6, -1e9)
      const max = Math.min(s.maximum ?? 1e6, 1e9)
      const inRange =
        t === 'integer'
          ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
          : fc.double({ min, max, noNaN: true })
      alts.push(fc.oneof({ weight: 3, arbitrary: inRange }, { weight: 1, arbitrary: numbers }))
    } else if (t === 'array') {
      const item = fromSchema(s.items, ctx, depth + 1)
      const n = Math.min(s.maxItems ?? 8, 8)
      alts.push(
        fc.oneof(
          { weight: 20, arbitrary: fc.array(item, { maxLength: n }).map((a): J => ({ k: 'arr', a })) },
          // Past the declared maximum (e.g. 65 batch items, 100,001 tokens).
          ...(s.maxItems
            ? [
                {
                  weight: 1,
                  arbitrary: fc.constant(
                    raw(
                      `[${Array(s.maxItems + 1)
                        .fill('0')
                        .join(',')}]`,
                    ),
                  ),
                },
              ]
            : []),
        ),
      )
    } else if (t === 'object') alts.push(objectFromSchema(s, ctx, depth))
  }
  if (enumValues)
    return fc.oneof({ weight: 8, arbitrary: enumValues }, { weight: 2, arbitrary: fc.oneof(...alts, wrong) })
  if (alts.length === 0) return wrong
  return fc.oneof({ weight: 9, arbitrary: fc.oneof(...alts) }, { weight: 1, arbitrary: wrong })
}

function objectFromSchema(s: Schema, ctx: Ctx, depth: number): fc.Arbitrary<J> {
  const props: [string, Schema][] = Object.entries(s.properties ?? {})
  const required = new Set<string>(s.required ?? [])
  const fields = props.map(([name, sub]) =>
    fc
      .option(fromSchema(sub, ctx, depth + 1), { freq: required.has(name) ? 12 : 2 })
      .map((v): [string, J] | null => (v === null ? null : [name, v])),
  )
  const open = s.additionalProperties !== false
  const extraKey = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS) },
    { weight: open ? 6 : 1, arbitrary: fc.constantFrom(...ctx.openKeys) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  )
  const extraValue = fc.oneof(
    // A pollution payload: {"polluted": true} under __proto__ / constructor / prototype.
    fc.constant<J>({ k: 'obj', e: [['polluted', true]] }),
    fc.constant<J>({ k: 'obj', e: [['prototype', { k: 'obj', e: [['polluted', true]] }]] }),
    anyJson(ctx.openKeys, ctx.interesting),
  )
  const extras = fc.oneof(
    { weight: open ? 2 : 6, arbitrary: fc.constant([] as [string, J][]) },
    { weight: 2, arbitrary: fc.array(fc.tuple(extraKey, extraValue), { minLength: 1, maxLength: 3 }) },
  )
  return fc.tuple(fc.tuple(...fields), extras, fc.boolean()).map(([fs, ex, extrasFirst]): J => {
    const own = fs.filter((f): f is [string, J] => f !== null)
    return { k: 'obj', e: extrasFirst ? [...ex, ...own] : [...own, ...ex] }
  })
}

/** Whole bodies: mostly the schema's shape, plus non-JSON, broken UTF-8, deep nesting, wrong types. */
export function bodies(schema: Schema | undefined, ctx: Ctx, maxBodyBytes: number): fc.Arbitrary<Body> {
  const shaped = schema ? fromSchema(schema, ctx) : anyJson(ctx.openKeys, ctx.interesting)
  const json =
    (label: string) =>
    (j: J): Body => ({ bytes: bytesOf(j), type: 'application/json', label })
  return fc.oneof(
    { weight: 60, arbitrary: shaped.map(json('shaped')) },
    { weight: 8, arbitrary: anyJson(ctx.openKeys, ctx.interesting).map(json('any')) },
    { weight: 3, arbitrary: deep.map(json('deep')) },
    {
      weight: 4, // invalid UTF-8 spliced anywhere into a shaped body (may break the syntax, or not)
      arbitrary: fc
        .tuple(shaped, invalidUtf8, fc.double({ min: 0, max: 1, noNaN: true }))
        .map(([j, bad, at]) => {
          const b = bytesOf(j)
          const i = Math.floor(at * b.length)
          const ins = (bad as { b: number[] }).b
          return {
            bytes: new Uint8Array([...b.slice(0, i), ...ins, ...b.slice(i)]),
            type: 'application/json',
            label: 'utf8',
          }
        }),
    },
    {
      weight: 3, // truncated JSON
      arbitrary: fc.tuple(shaped, fc.double({ min: 0, max: 1, noNaN: true })).map(([j, at]) => {
        const b = bytesOf(j)
        return { bytes: b.slice(0, Math.floor(at * b.length)), type: 'application/json', label: 'truncated' }
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ maxLength: 64 })
        .map((b) => ({ bytes: b, type: 'application/json', label: 'bytes' })),
    },
    {
      weight: 2, // a valid-looking body under another media type, or none
      arbitrary: fc
        .tuple(
          shaped,
          fc.constantFrom(
            undefined,
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/jsonx',
            'multipart/form-data',
          ),
        )
        .map(([j, type]) => ({ bytes: bytesOf(j), type, label: 'media-type' })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { type: 'application/json', label: 'empty' },
        { bytes: new Uint8Array(), type: 'application/json', label: 'empty' },
        { bytes: new Uint8Array(maxBodyBytes + 1).fill(0x20), type: 'application/json', label: 'over-limit' },
        {
          bytes: new TextEncoder().encode(`{"text":"${'a'.repeat(maxBodyBytes)}"}`),
          type: 'application/json',
          label: 'over-limit',
        },
        {
          bytes: new TextEncoder().encode('{"text":"a"}'),
          type: 'application/json; charset=latin1',
          label: 'charset',
        },
      ),
    },
  )
}

/** Every byte of the string's UTF-8 (a lone surrogate becomes U+FFFD), percent-encoded. */
export const percentEncode = (s: string) => Buffer.from(s, 'utf8').toString('hex').replace(/../g, '%$&')

/** Ids for path parameters: another tenant's real ids, malformed percent-escapes, traversal, long ids. */
export function pathIds(interesting: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: strings(interesting, false)
        .filter((j) => typeof j === 'string')
        .map((s) => percentEncode(s as string)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...interesting).map(percentEncode) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%',
        '%zz',
        '%ff',
        '%c0%80',
        '%ed%a0%80',
        '..%2f..',
        '%2e%2e',
        '%00',
        'a%2Fb',
        'x'.repeat(5000),
      ),
    },
  )
}

/** A route to fuzz: its body schema (if any) and whether its path has an {id}. */
export interface RouteTarget {
  route: string
  method: string
  path: (id: string) => string
  schema?: Schema
  hasId: boolean
  /** Authorised with the admin token instead of a tenant's API key. */
  admin: boolean
  /** The 2xx answers the route documents (creation routes change state; that is allowed). */
  ok: number[]
}

/**
 * Every operation of the OpenAPI document with a JSON body or an {id} in its path, plus the admin
 * routes (not in the document): the routes a version of the app has, so the fuzzing grows
 * with the app.
 */
export function routeTargets(doc: Schema): RouteTarget[] {
  const out: RouteTarget[] = []
  for (const [path, ops] of Object.entries<Record<string, Schema>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema
      const hasId = path.includes('{id}')
      if (!schema && !hasId) continue // nothing to fuzz (GET /v1/keys)
      out.push({
        route: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path: (id) => path.replace('{id}', id),
        schema,
        hasId,
        admin: false,
        ok: Object.keys(op.responses ?? {})
          .map(Number)
          .filter((s) => s >= 200 && s < 300),
      })
    }
  }
  out.push({
    route: 'POST /admin/tenants',
    method: 'POST',
    path: () => '/admin/tenants',
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, storeText: { type: 'boolean' } },
      required: ['name'],
      additionalProperties: false,
    },
    hasId: false,
    admin: true,
    ok: [201],
  })
  out.push({
    route: 'POST /admin/tenants/{id}/api-keys',
    method: 'POST',
    path: (id) => `/admin/tenants/${id}/api-keys`,
    schema: {
      type: 'object',
      properties: { detectionDetail: { type: 'string', enum: ['full', 'verdict'] } },
      additionalProperties: false,
    },
    hasId: true,
    admin: true,
    ok: [201],
  })
  return out
}

/** Strings worth trying anywhere, plus the ids the test created (its own and another tenant's). */
export const INTERESTING = [
  '',
  ' ',
  'auto',
  'none',
  'default',
  'qwen3',
  'llama3',
  'kgw-lefthash',
  'vllm-gumbel',
  'synthid',
  'user',
  'text',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'a\u202eb', // RTL override
  '👨‍👩‍👧‍👦',
  'e\u0301\u0301\u0301',
]

/** The generator context for a document: $ref resolution, interesting strings, open-object keys. */
export function fuzzContext(doc: Schema, ids: readonly string[]): Ctx {
  const components = doc.components?.schemas ?? {}
  return {
    resolve: (s) => (s?.$ref ? components[s.$ref.split('/').pop()] : s),
    interesting: [...INTERESTING, ...ids],
    // Scheme parameter names (and the reserved ones) for open objects such as params and metadata.
    openKeys: [
      'gamma',
      'delta',
      'contextWidth',
      'seeding',
      'pValueThreshold',
      'selfHashCandidates',
      'depth',
      'ngramLen',
      'numLeaves',
      'hash',
      'key',
      'keys',
      'hashKey',
      'vocabSize',
      'watermark_key_id',
      'polluted',
    ],
  }
}

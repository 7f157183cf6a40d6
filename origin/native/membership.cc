// Greenlist membership walks for the generation origin, natively with AVX-512: is `token` in torch CPU
// randperm(seed, vocab)[0 : greenCount]? The same walk as the WASM kernel's mtGreen (core/kernel/types.ts):
// MT19937 seeded as torch's manual_seed, Fisher–Yates step i swaps i with i + mt() % (vocab − i), and the
// token's position is followed until it is settled below greenCount (green) or the steps run out (red).
// Sixteen steps per vector instead of WASM's four: a self-hash step walks about 2.3 candidates, each
// ≈ 0.875·γV draws, and this is where its time goes. origin/native-kernel.ts loads it where the CPU has
// AVX-512 and keeps the WASM kernel otherwise; origin/native-kernel.test.ts checks it against WASM.
#include <node_api.h>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

constexpr int N = 624, M = 397;
constexpr uint32_t MATRIX_A = 0x9908b0dfu;

inline uint32_t temper(uint32_t y) {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  return y ^ (y >> 18);
}

inline uint32_t twistWord(uint32_t cur, uint32_t next, uint32_t far) {
  const uint32_t y = (cur & 0x80000000u) | (next & 0x7fffffffu);
  return far ^ (y >> 1) ^ ((0u - (y & 1)) & MATRIX_A);
}

// torch manual_seed → mt19937 init_genrand.
void seedState(uint32_t* s, uint32_t v) {
  s[0] = v;
  for (int j = 1; j < N; j++) {
    v = 1812433253u * (v ^ (v >> 30)) + static_cast<uint32_t>(j);
    s[j] = v;
  }
}

// One Fisher–Yates step with draw t, d = pos − i: true when the token is settled at i (green);
// when d == 0 the token moves to i + t % m.
inline bool stepScalar(uint32_t t, uint32_t& d, uint32_t i, uint32_t vocab) {
  const uint32_t z = t % (vocab - i);
  if (z == d) return true;
  d = d == 0 ? z - 1 : d - 1;
  return false;
}

// Per step i < count, m = vocab − i = q·2^s with q odd: x ≡ 0 (mod m) ⇔ rotr(x·q⁻¹, s) ≤ ⌊(2^32 − 1)/m⌋
// (Hacker's Delight 10-17), so `t % m == d` is one multiply, one rotate and one compare per lane.
struct DivTable {
  uint32_t vocab = 0, count = 0;
  std::vector<uint32_t> qinv, shift, thr;
  void prepare(uint32_t v, uint32_t c) {
    if (v == vocab && c <= count) return;
    qinv.assign(c + 16, 0);
    shift.assign(c + 16, 0);
    thr.assign(c + 16, 0);
    for (uint32_t i = 0; i < c; i++) {
      const uint32_t m = v - i;
      const uint32_t s = static_cast<uint32_t>(__builtin_ctz(m));
      const uint32_t q = m >> s;
      uint32_t inv = q;  // right to 3 bits for odd q; each Newton step doubles that
      for (int r = 0; r < 4; r++) inv *= 2 - q * inv;
      qinv[i] = inv;
      shift[i] = s;
      thr[i] = 0xffffffffu / m;
    }
    vocab = v;
    count = c;
  }
};

thread_local DivTable table;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) inline __m512i twist16(__m512i cur, __m512i next, __m512i far) {
  const __m512i y = _mm512_ternarylogic_epi32(cur, next, _mm512_set1_epi32(static_cast<int>(0x80000000u)), 0xE4);
  const __m512i mag = _mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(y, 31), 31),
                                       _mm512_set1_epi32(static_cast<int>(MATRIX_A)));
  return _mm512_ternarylogic_epi32(far, _mm512_srli_epi32(y, 1), mag, 0x96);  // far ^ (y >> 1) ^ mag
}

__attribute__((target("avx512f"))) bool member(uint32_t seed, uint32_t token, uint32_t vocab, uint32_t green) {
  alignas(64) uint32_t s[N + 16];
  seedState(s, seed);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const uint32_t* qinv = table.qinv.data();
  const uint32_t* shift = table.shift.data();
  const uint32_t* thr = table.thr.data();
  uint32_t d = token, i = 0;
  for (;;) {
    // Twist the whole block: k < 227 reads s[k + 397] (old), 227 ≤ k < 623 reads s[k − 227] (new).
    int k = 0;
    for (; k + 16 <= N - M; k += 16)
      _mm512_store_si512(s + k, twist16(_mm512_load_si512(s + k), _mm512_loadu_si512(s + k + 1),
                                        _mm512_loadu_si512(s + k + M)));
    for (; k < N - M; k++) s[k] = twistWord(s[k], s[k + 1], s[k + M]);
    for (; k + 16 <= N - 1; k += 16)
      _mm512_storeu_si512(s + k, twist16(_mm512_loadu_si512(s + k), _mm512_loadu_si512(s + k + 1),
                                         _mm512_loadu_si512(s + k - (N - M))));
    for (; k < N - 1; k++) s[k] = twistWord(s[k], s[k + 1], s[k - (N - M)]);
    s[N - 1] = twistWord(s[N - 1], s[0], s[M - 1]);

    const uint32_t left = green - i;
    const uint32_t lim = left < static_cast<uint32_t>(N) ? left : static_cast<uint32_t>(N);
    uint32_t j = 0;
    for (; j + 16 <= lim; j += 16) {
      __m512i t = _mm512_loadu_si512(s + j);
      t = _mm512_xor_si512(t, _mm512_srli_epi32(t, 11));
      t = _mm512_xor_si512(t, _mm512_and_si512(_mm512_slli_epi32(t, 7), _mm512_set1_epi32(0x9d2c5680)));
      t = _mm512_xor_si512(
          t, _mm512_and_si512(_mm512_slli_epi32(t, 15), _mm512_set1_epi32(static_cast<int>(0xefc60000u))));
      t = _mm512_xor_si512(t, _mm512_srli_epi32(t, 18));
      const __m512i dv = _mm512_sub_epi32(_mm512_set1_epi32(static_cast<int>(d)), lane);
      const __m512i x = _mm512_sub_epi32(t, dv);
      const __m512i r = _mm512_rorv_epi32(_mm512_mullo_epi32(x, _mm512_loadu_si512(qinv + i)),
                                          _mm512_loadu_si512(shift + i));
      const __mmask16 hit =
          _mm512_mask_cmple_epu32_mask(_mm512_cmpge_epu32_mask(t, dv), r, _mm512_loadu_si512(thr + i));
      // d ≥ 16: the token's own position does not come up in these steps, so no lane moves it.
      if (d >= 16 && hit == 0) {
        d -= 16;
        i += 16;
        continue;
      }
      alignas(64) uint32_t draws[16];
      _mm512_store_si512(draws, t);
      for (int l = 0; l < 16; l++, i++)
        if (stepScalar(draws[l], d, i, vocab)) return true;
    }
    for (; j < lim; j++, i++)
      if (stepScalar(temper(s[j]), d, i, vocab)) return true;
    if (i >= green) return false;
  }
}

bool cpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}
#else
bool member(uint32_t, uint32_t, uint32_t, uint32_t) { return false; }
bool cpuHasAvx512() { return false; }
#endif

napi_value throwRange(napi_env env, const char* msg) {
  napi_throw_range_error(env, nullptr, msg);
  return nullptr;
}

bool typedArray(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr) != napi_ok) return false;
  return type == want;
}

// available(): true where this CPU runs the AVX-512 walk.
napi_value Available(napi_env env, napi_callback_info) {
  napi_value out;
  napi_get_boolean(env, cpuHasAvx512(), &out);
  return out;
}

// mtGreen(seeds: Uint32Array, tokens: Int32Array, vocab, greenCount, out: Uint8Array): as ScoringKernel's.
napi_value MtGreen(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 5) return throwRange(env, "native mtGreen: 5 arguments expected");
  void *seedsP, *tokensP, *outP;
  size_t nSeeds, nTokens, nOut;
  if (!typedArray(env, argv[0], napi_uint32_array, &seedsP, &nSeeds) ||
      !typedArray(env, argv[1], napi_int32_array, &tokensP, &nTokens) ||
      !typedArray(env, argv[4], napi_uint8_array, &outP, &nOut))
    return throwRange(env, "native mtGreen: expected (Uint32Array, Int32Array, number, number, Uint8Array)");
  int64_t vocab, green;
  if (napi_get_value_int64(env, argv[2], &vocab) != napi_ok || napi_get_value_int64(env, argv[3], &green) != napi_ok)
    return throwRange(env, "native mtGreen: vocab and greenCount must be numbers");
  // The same bounds as torch's CPU small-n randperm path and the WASM kernel.
  if (vocab < 0 || vocab >= 214748364) return throwRange(env, "native mtGreen: bad vocab");
  if (nSeeds < nTokens || nOut < nTokens) return throwRange(env, "native mtGreen: seeds or out shorter than tokens");
  const auto* seeds = static_cast<const uint32_t*>(seedsP);
  const auto* tokens = static_cast<const int32_t*>(tokensP);
  auto* out = static_cast<uint8_t*>(outP);
  const bool walk = green > 0 && green < vocab;
  if (walk) {
    if (!cpuHasAvx512()) return throwRange(env, "native mtGreen: this CPU has no AVX-512");
    table.prepare(static_cast<uint32_t>(vocab), static_cast<uint32_t>(green));
  }
  for (size_t k = 0; k < nTokens; k++) {
    const int32_t t = tokens[k];
    if (t < 0 || t >= vocab) out[k] = 0;
    else if (green >= vocab) out[k] = 1;
    else if (!walk) out[k] = 0;
    else out[k] = member(seeds[k], static_cast<uint32_t>(t), static_cast<uint32_t>(vocab), static_cast<uint32_t>(green));
  }
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "available", NAPI_AUTO_LENGTH, Available, nullptr, &fn);
  napi_set_named_property(env, exports, "available", fn);
  napi_create_function(env, "mtGreen", NAPI_AUTO_LENGTH, MtGreen, nullptr, &fn);
  napi_set_named_property(env, exports, "mtGreen", fn);
  return exports;
}

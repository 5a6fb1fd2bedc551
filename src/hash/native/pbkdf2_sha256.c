/*
 * phsync native hash kernel: PBKDF2-HMAC-SHA256 for a batch of users with the x86 SHA extensions.
 *
 *   hashBatch(input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): void
 *     For user i in [0, count): out[32i, 32i+32) = PBKDF2-HMAC-SHA256(key = input[64i, 64i+64),
 *     salt = salts[10i, 10i+10), iterations, 32 bytes). Synchronous; throws TypeError / RangeError on
 *     bad arguments and an Error with code KERNEL_UNAVAILABLE when the CPU has no SHA extensions.
 *   hmacBatch(key: Uint8Array, messages: Uint8Array, count: number, out: Uint8Array): void
 *     For message i in [0, count): out[16i, 16i+16) = the first 16 bytes of HMAC-SHA256(key,
 *     messages[16i, 16i+16)), key at most 64 bytes. The state store's NT hash fingerprints, a window of
 *     users per call (node:crypto's createHmac costs ~3.5 µs a user, this two compressions).
 *   shaNi: boolean
 *     Whether this CPU has SHA-NI, SSSE3 and SSE4.1 (CPUID leaves 1 and 7), i.e. whether hashBatch works.
 *
 * Node-API only (no V8 or libuv headers), so one build loads in every Node version. The SHA code
 * is compiled for the SHA/SSE4.1 target function by function (no -msha on the command line), so
 * the object loads on any x86-64 and the SHA instructions only run after the CPUID check.
 *
 * Every key is exactly one SHA-256 block (64 bytes), so HMAC needs no key hashing: the inner and
 * outer pad states are the SHA-256 states after compressing key^0x36.. and key^0x5c.., computed
 * once per user. Each PBKDF2 iteration is then two compressions of a 32-byte message (32 bytes of
 * data, 0x80, zeros, bit length 768) from those states. SHA-256 rounds are a long dependency chain
 * and sha256rnds2 has a latency of several cycles, so LANES users are hashed together with their
 * rounds interleaved: the CPU works on the other users while one user's round is in flight.
 * States stay in the ABEF/CDGH layout the SHA instructions use from the first compression to the
 * final output; a digest becomes the next message with two unpacks and two shuffles.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include "../../native/napi-args.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KEY_BYTES 64
#define SALT_BYTES 10
#define HASH_BYTES 32
#define MAX_ITERATIONS 0xffffffffu

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_PATH 1
#include <cpuid.h>
#include <immintrin.h>

/* memset through a volatile pointer: the compiler cannot prove the stores dead and drop them. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

/* Users hashed together. Measured on Zen 5 (1000 iterations, one thread): 1 lane 11.8k/s, 2 lanes
 * 23.0k/s, 3 lanes 25.6k/s, 4 lanes 26.8k/s, 6 lanes 17.2k/s (16 XMM registers: spills dominate). */
#define LANES 4

static int cpu_has_sha_ni(void) {
#ifdef PHSYNC_TEST_NO_SHA /* tests build a variant that behaves as on a CPU without SHA extensions */
  return 0;
#endif
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0; /* SSSE3, SSE4.1 */
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (b & (1u << 29)) != 0; /* SHA */
}

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#define SHA_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))

static const uint32_t K256[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* A SHA-256 state in the SHA-NI layout: abef = lanes (F, E, B, A), cdgh = lanes (H, G, D, C). */
typedef struct {
  __m128i abef, cdgh;
} state_t;

/*
 * out[l] = in[l] + compress(in[l], w[l]) for the first n lanes (n is a compile-time constant at
 * every call, so the loops unroll and the lanes' rounds interleave). w[l] holds message words
 * W0..W15 as four vectors, W0 in the lowest lane; it is overwritten by the message schedule.
 * out may be in.
 */
SHA_INLINE void compress(const int n, state_t *out, const state_t *in, __m128i w[][4]) {
  __m128i abef[LANES], cdgh[LANES];
  for (int l = 0; l < n; l++) {
    abef[l] = in[l].abef;
    cdgh[l] = in[l].cdgh;
  }
#pragma GCC unroll 16
  for (int g = 0; g < 16; g++) { /* rounds 4g .. 4g+3 */
    const __m128i k = _mm_load_si128((const __m128i *)&K256[4 * g]);
#pragma GCC unroll 4
    for (int l = 0; l < n; l++) {
      __m128i *m = w[l];
      if (g >= 4) { /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time */
        const __m128i t7 = _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4);
        m[g & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]), t7), m[(g + 3) & 3]);
      }
      const __m128i wk = _mm_add_epi32(m[g & 3], k);
      cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
      abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk, 0x0e));
    }
  }
  for (int l = 0; l < n; l++) {
    out[l].abef = _mm_add_epi32(abef[l], in[l].abef);
    out[l].cdgh = _mm_add_epi32(cdgh[l], in[l].cdgh);
  }
}

/* Words A..D and E..H of a state, A in the lowest lane. */
SHA_INLINE __m128i words_abcd(state_t s) { return _mm_shuffle_epi32(_mm_unpackhi_epi64(s.cdgh, s.abef), 0x1b); }
SHA_INLINE __m128i words_efgh(state_t s) { return _mm_shuffle_epi32(_mm_unpacklo_epi64(s.cdgh, s.abef), 0x1b); }

/*
 * The block of a 32-byte message (an HMAC inner digest, or U_j): the digest, 0x80, zeros and the
 * bit length of (64-byte pad block + 32 bytes). W8..W15 are constants, so the compiler folds their
 * round-constant additions.
 */
SHA_INLINE void digest_block(__m128i m[4], state_t s) {
  m[0] = words_abcd(s);
  m[1] = words_efgh(s);
  m[2] = _mm_set_epi32(0, 0, 0, (int)0x80000000);
  m[3] = _mm_set_epi32((64 + HASH_BYTES) * 8, 0, 0, 0);
}

/* Big-endian bytes to words (and back): reverse the bytes of each 32-bit lane. */
SHA_INLINE __m128i bswap32x4(__m128i v) {
  return _mm_shuffle_epi8(v, _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
}

/*
 * PBKDF2 for n users (n <= LANES, a compile-time constant). Every local here except iv and the
 * salt blocks is derived from the keys; they are wiped before returning. (Copies the compiler keeps in
 * registers or spills are outside C's reach; the stack is burnt by the caller, see burn_stack.)
 */
SHA_INLINE void hash_group(const int n, const uint8_t *key, const uint8_t *salt, uint32_t iterations, uint8_t *out) {
  state_t iv[LANES], ipad[LANES], opad[LANES], u[LANES], t[LANES];
  __m128i w[LANES][4];
  uint8_t block[LANES][64];

  for (int l = 0; l < n; l++) {
    iv[l].abef = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
    iv[l].cdgh = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
  }
  /* HMAC pad states. */
  for (int l = 0; l < n; l++)
    for (int i = 0; i < 4; i++)
      w[l][i] = _mm_xor_si128(bswap32x4(_mm_loadu_si128((const __m128i *)(key + KEY_BYTES * l + 16 * i))), _mm_set1_epi32(0x36363636));
  compress(n, ipad, iv, w);
  for (int l = 0; l < n; l++)
    for (int i = 0; i < 4; i++)
      w[l][i] = _mm_xor_si128(bswap32x4(_mm_loadu_si128((const __m128i *)(key + KEY_BYTES * l + 16 * i))), _mm_set1_epi32(0x5c5c5c5c));
  compress(n, opad, iv, w);

  /* U1 = HMAC(key, salt || INT(1)): one inner block salt, 00000001, 0x80, zeros, bit length 624. */
  for (int l = 0; l < n; l++) {
    memset(block[l], 0, 64);
    memcpy(block[l], salt + SALT_BYTES * l, SALT_BYTES);
    block[l][SALT_BYTES + 3] = 1;
    block[l][SALT_BYTES + 4] = 0x80;
    block[l][62] = ((64 + SALT_BYTES + 4) * 8) >> 8;
    block[l][63] = ((64 + SALT_BYTES + 4) * 8) & 0xff;
    for (int i = 0; i < 4; i++) w[l][i] = bswap32x4(_mm_loadu_si128((const __m128i *)(block[l] + 16 * i)));
  }
  compress(n, u, ipad, w);
  for (int l = 0; l < n; l++) digest_block(w[l], u[l]);
  compress(n, u, opad, w);
  for (int l = 0; l < n; l++) t[l] = u[l];

  /* U_j = HMAC(key, U_{j-1}); T = U_1 ^ ... ^ U_iterations. */
  for (uint32_t j = 1; j < iterations; j++) {
    for (int l = 0; l < n; l++) digest_block(w[l], u[l]);
    compress(n, u, ipad, w);
    for (int l = 0; l < n; l++) digest_block(w[l], u[l]);
    compress(n, u, opad, w);
    for (int l = 0; l < n; l++) {
      t[l].abef = _mm_xor_si128(t[l].abef, u[l].abef);
      t[l].cdgh = _mm_xor_si128(t[l].cdgh, u[l].cdgh);
    }
  }

  for (int l = 0; l < n; l++) {
    _mm_storeu_si128((__m128i *)(out + HASH_BYTES * l), bswap32x4(words_abcd(t[l])));
    _mm_storeu_si128((__m128i *)(out + HASH_BYTES * l + 16), bswap32x4(words_efgh(t[l])));
  }

  wipe_memset(ipad, 0, sizeof ipad);
  wipe_memset(opad, 0, sizeof opad);
  wipe_memset(u, 0, sizeof u);
  wipe_memset(t, 0, sizeof t);
  wipe_memset(w, 0, sizeof w);
}

/*
 * HMAC-SHA256 of n 16-byte messages under one key whose pad states are given: the inner block is
 * the message, 0x80, zeros and the bit length of (64 + 16) bytes; the outer, the inner digest as in
 * digest_block. Writes the first 16 bytes of each MAC.
 */
SHA_INLINE void hmac16_group(const int n, const state_t *ipad, const state_t *opad, const uint8_t *messages, uint8_t *out) {
  state_t pads[LANES], u[LANES];
  __m128i w[LANES][4];
  for (int l = 0; l < n; l++) {
    pads[l] = *ipad;
    w[l][0] = bswap32x4(_mm_loadu_si128((const __m128i *)(messages + 16 * l)));
    w[l][1] = _mm_set_epi32(0, 0, 0, (int)0x80000000);
    w[l][2] = _mm_setzero_si128();
    w[l][3] = _mm_set_epi32((64 + 16) * 8, 0, 0, 0);
  }
  compress(n, u, pads, w);
  for (int l = 0; l < n; l++) {
    digest_block(w[l], u[l]);
    pads[l] = *opad;
  }
  compress(n, u, pads, w);
  for (int l = 0; l < n; l++) _mm_storeu_si128((__m128i *)(out + 16 * l), bswap32x4(words_abcd(u[l])));
  wipe_memset(u, 0, sizeof u);
  wipe_memset(w, 0, sizeof w);
  wipe_memset(pads, 0, sizeof pads);
}

static SHA_TARGET __attribute__((noinline)) void hmac_batch_sha(const uint8_t *key, size_t key_length, const uint8_t *messages, size_t count, uint8_t *out) {
  state_t iv, ipad, opad;
  __m128i w[1][4];
  uint8_t block[64] = {0};
  memcpy(block, key, key_length);
  iv.abef = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
  iv.cdgh = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
  for (int i = 0; i < 4; i++) w[0][i] = _mm_xor_si128(bswap32x4(_mm_loadu_si128((const __m128i *)(block + 16 * i))), _mm_set1_epi32(0x36363636));
  compress(1, &ipad, &iv, w);
  for (int i = 0; i < 4; i++) w[0][i] = _mm_xor_si128(bswap32x4(_mm_loadu_si128((const __m128i *)(block + 16 * i))), _mm_set1_epi32(0x5c5c5c5c));
  compress(1, &opad, &iv, w);
  size_t i = 0;
  for (; count - i >= LANES; i += LANES) hmac16_group(LANES, &ipad, &opad, messages + 16 * i, out + 16 * i);
  for (; i < count; i++) hmac16_group(1, &ipad, &opad, messages + 16 * i, out + 16 * i);
  wipe_memset(block, 0, sizeof block);
  wipe_memset(w, 0, sizeof w);
  wipe_memset(&ipad, 0, sizeof ipad);
  wipe_memset(&opad, 0, sizeof opad);
}

/* Non-inlined so that the register allocator sees one instance at a time. */
static SHA_TARGET __attribute__((noinline)) void hash_lanes4(const uint8_t *k, const uint8_t *s, uint32_t it, uint8_t *o) { hash_group(4, k, s, it, o); }
static SHA_TARGET __attribute__((noinline)) void hash_lanes3(const uint8_t *k, const uint8_t *s, uint32_t it, uint8_t *o) { hash_group(3, k, s, it, o); }
static SHA_TARGET __attribute__((noinline)) void hash_lanes2(const uint8_t *k, const uint8_t *s, uint32_t it, uint8_t *o) { hash_group(2, k, s, it, o); }
static SHA_TARGET __attribute__((noinline)) void hash_lanes1(const uint8_t *k, const uint8_t *s, uint32_t it, uint8_t *o) { hash_group(1, k, s, it, o); }

/*
 * Overwrites the stack below the caller's frame, where the hash functions' frames (register spills
 * included) were, so no key-derived state outlives the call there.
 */
static __attribute__((noinline)) void burn_stack(void) {
  unsigned char area[16384];
  wipe_memset(area, 0, sizeof area);
  __asm__ __volatile__("" : : "r"(area) : "memory");
}

_Static_assert(LANES == 4, "hash_batch_sha hashes groups of 4 and remainders of up to 3 users");

static void hash_batch_sha(const uint8_t *key, const uint8_t *salt, size_t count, uint32_t iterations, uint8_t *out) {
  size_t i = 0;
  for (; count - i >= LANES; i += LANES) hash_lanes4(key + KEY_BYTES * i, salt + SALT_BYTES * i, iterations, out + HASH_BYTES * i);
  switch (count - i) {
    case 3: hash_lanes3(key + KEY_BYTES * i, salt + SALT_BYTES * i, iterations, out + HASH_BYTES * i); break;
    case 2: hash_lanes2(key + KEY_BYTES * i, salt + SALT_BYTES * i, iterations, out + HASH_BYTES * i); break;
    case 1: hash_lanes1(key + KEY_BYTES * i, salt + SALT_BYTES * i, iterations, out + HASH_BYTES * i); break;
    default: break;
  }
  burn_stack();
}
#endif /* x86-64 */

/* ---- Node-API binding ---- */

static napi_value hash_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *has_sha = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &has_sha) != napi_ok) return NULL;
  if (!has_sha) {
    napi_throw_error(env, "KERNEL_UNAVAILABLE", "the native hash kernel cannot run: this CPU has no SHA extensions");
    return NULL;
  }
  if (argc < 5) return throw_type_error(env, "hashBatch(input, salts, count, iterations, out) takes 5 arguments");

  uint8_t *input = NULL, *salts = NULL, *out = NULL;
  size_t input_length = 0, salts_length = 0, out_length = 0;
  double count_value = 0, iterations_value = 0;
  if (!get_bytes(env, argv[0], &input, &input_length)) return throw_type_error(env, "input must be a Uint8Array");
  if (!get_bytes(env, argv[1], &salts, &salts_length)) return throw_type_error(env, "salts must be a Uint8Array");
  if (!get_bytes(env, argv[4], &out, &out_length)) return throw_type_error(env, "out must be a Uint8Array");
  switch (get_integer(env, argv[2], 0, 9007199254740991.0, &count_value)) {
    case -1: return throw_type_error(env, "count must be a number");
    case 0: return throw_range_error(env, "count must be a non-negative integer");
  }
  switch (get_integer(env, argv[3], 1, MAX_ITERATIONS, &iterations_value)) {
    case -1: return throw_type_error(env, "iterations must be a number");
    case 0: return throw_range_error(env, "iterations must be an integer from 1 to 4294967295");
  }
  /* Compared by division, so count * 64 cannot overflow. */
  const double count = count_value;
  if (count > (double)(input_length / KEY_BYTES)) return throw_range_error(env, "input is shorter than count * 64 bytes");
  if (count > (double)(salts_length / SALT_BYTES)) return throw_range_error(env, "salts is shorter than count * 10 bytes");
  if (count > (double)(out_length / HASH_BYTES)) return throw_range_error(env, "out is shorter than count * 32 bytes");

#ifdef HAVE_SHA_PATH
  if (count > 0) hash_batch_sha(input, salts, (size_t)count, (uint32_t)iterations_value, out);
#else
  (void)input;
  (void)salts;
  (void)out;
  (void)iterations_value;
#endif
  return NULL;
}

static napi_value hmac_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void *has_sha = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &has_sha) != napi_ok) return NULL;
  if (!has_sha) {
    napi_throw_error(env, "KERNEL_UNAVAILABLE", "the native HMAC cannot run: this CPU has no SHA extensions");
    return NULL;
  }
  if (argc < 4) return throw_type_error(env, "hmacBatch(key, messages, count, out) takes 4 arguments");
  uint8_t *key = NULL, *messages = NULL, *out = NULL;
  size_t key_length = 0, messages_length = 0, out_length = 0;
  double count = 0;
  if (!get_bytes(env, argv[0], &key, &key_length)) return throw_type_error(env, "key must be a Uint8Array");
  if (!get_bytes(env, argv[1], &messages, &messages_length)) return throw_type_error(env, "messages must be a Uint8Array");
  if (!get_bytes(env, argv[3], &out, &out_length)) return throw_type_error(env, "out must be a Uint8Array");
  if (key_length > 64) return throw_range_error(env, "key must be at most 64 bytes");
  switch (get_integer(env, argv[2], 0, 9007199254740991.0, &count)) {
    case -1: return throw_type_error(env, "count must be a number");
    case 0: return throw_range_error(env, "count must be a non-negative integer");
  }
  if (count > (double)(messages_length / 16)) return throw_range_error(env, "messages is shorter than count * 16 bytes");
  if (count > (double)(out_length / 16)) return throw_range_error(env, "out is shorter than count * 16 bytes");
#ifdef HAVE_SHA_PATH
  if (count > 0) {
    hmac_batch_sha(key, key_length, messages, (size_t)count, out);
    burn_stack();
  }
#else
  (void)key;
  (void)messages;
  (void)out;
#endif
  return NULL;
}

NAPI_MODULE_INIT() {
#ifdef HAVE_SHA_PATH
  const int has_sha = cpu_has_sha_ni();
#else
  const int has_sha = 0;
#endif
  napi_value hash_batch_function, sha_ni;
  /* The CPU check rides along as the function's data: no global state, nothing shared between threads. */
  if (napi_create_function(env, "hashBatch", NAPI_AUTO_LENGTH, hash_batch, (void *)(uintptr_t)(has_sha != 0), &hash_batch_function) != napi_ok) return NULL;
  napi_value hmac_batch_function;
  if (napi_create_function(env, "hmacBatch", NAPI_AUTO_LENGTH, hmac_batch, (void *)(uintptr_t)(has_sha != 0), &hmac_batch_function) != napi_ok) return NULL;
  if (napi_get_boolean(env, has_sha != 0, &sha_ni) != napi_ok) return NULL;
  const napi_property_descriptor properties[] = {
      {"hashBatch", NULL, NULL, NULL, NULL, hash_batch_function, napi_enumerable, NULL},
      {"hmacBatch", NULL, NULL, NULL, NULL, hmac_batch_function, napi_enumerable, NULL},
      {"shaNi", NULL, NULL, NULL, NULL, sha_ni, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}

/*
 * phsync native leaked-hash lookup: looks NT hashes up in a leaked-hash store (format:
 * src/leaked/leaked-store-format.ts) through a read-only memory mapping of the whole file, so that a
 * lookup is a few memory reads instead of the pread system call LeakedStore makes without it.
 *
 *   open(fd: number): handle
 *     Maps the whole file open on fd (fstat, mmap PROT_READ MAP_SHARED, madvise MADV_RANDOM). The
 *     caller still closes fd: mapping the descriptor LeakedStore has just validated, not the path
 *     again, means a store renamed into place in between cannot slip in unvalidated. Checks only
 *     that the file holds the header and index; LeakedStore checked the rest. Keeps a duplicate of
 *     fd for lookupBatch's size check. Throws an Error whose code is the errno name.
 *   lookup(handle, ntHashes: Uint8Array, offset: number): number
 *     The prevalence (>= 1) of the 16-byte hash at ntHashes[offset..offset+16), or 0 when absent.
 *   lookupBatch(handle, ntHashes: Uint8Array, count: number, out: Uint8Array | Uint32Array): number
 *     For i in [0, count): out[i] = 1 or 0 (Uint8Array), or the prevalence or 0 (Uint32Array), for
 *     the hash at ntHashes[16i..16i+16). Returns how many were found. One call per batch, which
 *     first checks (one fstat) that the file is still as long as the mapping: see below.
 *   close(handle): void
 *     Unmaps (again: nothing); lookups on the handle then throw. A handle that is never closed is unmapped when it is
 *     garbage-collected (or its thread exits).
 *
 * The search is LeakedStore's in-memory one: the 2-byte prefix's bucket from the index, an estimate
 * by interpolation on the next 4 bytes (the hashes are uniform), exponential search outwards from
 * it, then binary search. Every record position is clamped to what the mapping holds, so a corrupt
 * index (or a file that changed since LeakedStore read it) gives wrong answers, never a read
 * outside the mapping. A file truncated in place while mapped is worse: touching a page past its new
 * end raises SIGBUS, which kills the process. The importer never does that (it renames a new store
 * into place), but `cp new old` does, so lookupBatch checks the size first and throws
 * LEAKED_STORE_INVALID instead; that leaves a window of one batch. lookup() does not check (it
 * would cost the system call this addon saves); it serves tests, benchmarks and one-off lookups.
 *
 * The hashes are secrets: they are read in place into locals, never copied, never in a message.
 * Node-API only. The one global is the table of mappings (under a mutex): the worker threads share
 * one mapping of a store, so its pages count once in the resident memory, not once per thread.
 */
#define _GNU_SOURCE /* strerrorname_np */
#define NAPI_VERSION 8
#include <node_api.h>

#include "../../native/napi-args.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

/* leaked-store-format.ts, version 1. */
#define HEADER_BYTES 64
#define PREFIX_COUNT 65536
#define RECORDS_OFFSET 266240 /* the header and the 65,537-entry index, padded to 4 KiB */
#define RECORD_BYTES 16
#define HASH_BYTES 16

/* Hashes looked ahead in a batch: the records around a hash's estimate are prefetched this many
 * lookups before it is searched, so a batch waits for many cache (and TLB) misses at once instead of
 * one after another; and at most this many records each side of the estimate. */
#define PREFETCH_DISTANCE 8
#define PREFETCH_MAX_RECORDS 32

typedef struct {
  const uint8_t *base; /* the mapping; NULL once unmapped */
  size_t size;
  uint64_t records; /* whole records the file holds: the bound every index entry is clamped to */
  int fd;           /* a duplicate of the caller's descriptor, for the size check; -1 once closed */
} store_t;

/* Marks our externals, so that another addon's external is refused rather than read as a store_t. */
static const napi_type_tag STORE_TAG = {0x7068737966616b31ULL, 0x6c65616b65646d6dULL};

/* ---- the search ---- */

static inline uint64_t load_be64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/* Bytes p[0..6) as a big-endian number. */
static inline uint64_t load_be48(const uint8_t *p) {
  return ((uint64_t)p[0] << 40) | ((uint64_t)p[1] << 32) | ((uint64_t)p[2] << 24) | ((uint64_t)p[3] << 16) | ((uint64_t)p[4] << 8) | p[5];
}

/* Index entry p (uint32 LE in the file), clamped to the records the mapping holds. */
static inline uint64_t index_entry(const store_t *s, unsigned p) {
  const uint8_t *e = s->base + HEADER_BYTES + 4 * (size_t)p;
  const uint64_t v = (uint64_t)e[0] | ((uint64_t)e[1] << 8) | ((uint64_t)e[2] << 16) | ((uint64_t)e[3] << 24);
  return v < s->records ? v : s->records;
}

/* A hash without its 2-byte prefix, as two numbers that compare like the bytes. */
typedef struct {
  uint64_t hi; /* hash bytes 2..10 */
  uint64_t lo; /* hash bytes 10..16 */
} hash_key;

static inline const uint8_t *record_at(const store_t *s, uint64_t i) {
  return s->base + RECORDS_OFFSET + i * RECORD_BYTES;
}

/* The sign of key - record. */
static inline int compare(hash_key k, const uint8_t *record) {
  const uint64_t hi = load_be64(record);
  if (k.hi != hi) return k.hi < hi ? -1 : 1;
  const uint64_t lo = load_be48(record + 8);
  return k.lo < lo ? -1 : k.lo > lo;
}

static inline uint32_t prevalence(const uint8_t *record) {
  return (uint32_t)record[14] | ((uint32_t)record[15] << 8);
}

/* The bucket [*lo, *hi) of the hash and the record its interpolation points at; 0 if the bucket is empty. */
static inline int locate(const store_t *s, const uint8_t *hash, uint64_t *lo, uint64_t *hi, uint64_t *estimate) {
  const unsigned p = ((unsigned)hash[0] << 8) | hash[1];
  *lo = index_entry(s, p);
  *hi = index_entry(s, p + 1);
  if (*hi <= *lo) return 0;
  const uint64_t k0 = ((uint64_t)hash[2] << 24) | ((uint64_t)hash[3] << 16) | ((uint64_t)hash[4] << 8) | hash[5];
  /* k0 < 2^32 and the bucket holds < 2^32 records: no overflow, and the estimate is < *hi. */
  *estimate = *lo + ((k0 * (*hi - *lo)) >> 32);
  return 1;
}

static uint32_t lookup_one(const store_t *s, const uint8_t *hash) {
  uint64_t lo, hi, estimate;
  if (!locate(s, hash, &lo, &hi, &estimate)) return 0;
  const hash_key k = {load_be64(hash + 2), load_be48(hash + 10)};

  const int c = compare(k, record_at(s, estimate));
  if (c == 0) return prevalence(record_at(s, estimate));
  /* Exponential search outwards from the estimate, narrowing [a, b) to where the key must be. */
  uint64_t a, b;
  if (c > 0) {
    a = estimate + 1;
    b = hi;
    for (uint64_t step = 1; step < hi - estimate; step *= 2) {
      const uint64_t probe = estimate + step;
      const int d = compare(k, record_at(s, probe));
      if (d == 0) return prevalence(record_at(s, probe));
      if (d < 0) {
        b = probe;
        break;
      }
      a = probe + 1;
    }
  } else {
    a = lo;
    b = estimate;
    for (uint64_t step = 1; step <= estimate - lo; step *= 2) {
      const uint64_t probe = estimate - step;
      const int d = compare(k, record_at(s, probe));
      if (d == 0) return prevalence(record_at(s, probe));
      if (d > 0) {
        a = probe + 1;
        break;
      }
      b = probe;
    }
  }
  while (a < b) {
    const uint64_t m = a + (b - a) / 2;
    const int d = compare(k, record_at(s, m));
    if (d == 0) return prevalence(record_at(s, m));
    if (d < 0) b = m;
    else a = m + 1;
  }
  return 0;
}

/*
 * Prefetches the cache lines the search for `hash` will read: the estimate ± sqrt(n)/2 records, how
 * far a key's place strays from its estimate in a bucket of n uniform hashes. On a store of 100M
 * random hashes (batches of 256, this VM) this took ~4.7M lookups/s to ~6.0M; prefetching the
 * estimate's line alone changed nothing, the search's later probes were what waited.
 */
static void prefetch(const store_t *s, const uint8_t *hash) {
  uint64_t lo, hi, estimate;
  if (!locate(s, hash, &lo, &hi, &estimate)) return;
  uint64_t w = (uint64_t)(0.5 * sqrt((double)(hi - lo))) + 1;
  if (w > PREFETCH_MAX_RECORDS) w = PREFETCH_MAX_RECORDS;
  const uint64_t a = estimate - lo > w ? estimate - w : lo;
  const uint64_t b = hi - 1 - estimate > w ? estimate + w : hi - 1;
  for (uint64_t i = a; i < b; i += 64 / RECORD_BYTES) __builtin_prefetch(record_at(s, i));
  __builtin_prefetch(record_at(s, b));
}

/* ---- Node-API binding ---- */

/* An Error for a failed system call: code = the errno name where libc has one. */
static napi_value throw_errno(napi_env env, const char *call, int error) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", call, strerror(error));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *code = strerrorname_np(error);
#else
  const char *code = NULL;
#endif
  napi_throw_error(env, code != NULL ? code : "ERR_SYSTEM", message);
  return NULL;
}

/* The store a handle argument names (open, unless may_be_closed), or NULL with an exception pending. */
static store_t *get_store(napi_env env, napi_value value, int may_be_closed) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_check_object_type_tag(env, value, &STORE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok) {
    throw_type_error(env, "handle must be a handle from open()");
    return NULL;
  }
  store_t *store = data;
  if (store->base == NULL && !may_be_closed) {
    napi_throw_error(env, "LEAKED_STORE_CLOSED", "the leaked-hash store mapping is closed");
    return NULL;
  }
  return store;
}

/* One mapping per file per process, shared by every handle on it: the worker threads are one
 * address space, and a page each of them touched would otherwise be mapped, and counted in the
 * process's resident memory, once per thread. Keyed by the file's identity and version, so a store
 * replaced by a rename gets a mapping of its own. */
typedef struct mapping {
  struct mapping *next;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  const uint8_t *base;
  unsigned users;
} mapping_t;

static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t *mappings = NULL;

/* The shared mapping of the file open on fd (as st describes it), made if none; NULL with errno set. */
static const uint8_t *map_shared(int fd, const struct stat *st) {
  pthread_mutex_lock(&mappings_lock);
  for (mapping_t *m = mappings; m != NULL; m = m->next) {
    if (m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size && m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec) {
      m->users++;
      pthread_mutex_unlock(&mappings_lock);
      return m->base;
    }
  }
  mapping_t *m = calloc(1, sizeof *m);
  void *base = m == NULL ? MAP_FAILED : mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    const int error = m == NULL ? ENOMEM : errno;
    free(m);
    pthread_mutex_unlock(&mappings_lock);
    errno = error;
    return NULL;
  }
  /* Lookups touch one or two random pages: read-ahead around a fault would only evict useful pages. */
  madvise(base, (size_t)st->st_size, MADV_RANDOM);
  *m = (mapping_t){.next = mappings, .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size, .mtime = st->st_mtim, .base = base, .users = 1};
  mappings = m;
  pthread_mutex_unlock(&mappings_lock);
  return base;
}

/* Drops one handle's use of its mapping; the last one unmaps it. */
static void unmap_shared(const uint8_t *base) {
  pthread_mutex_lock(&mappings_lock);
  for (mapping_t **at = &mappings; *at != NULL; at = &(*at)->next) {
    mapping_t *m = *at;
    if (m->base != base) continue;
    if (--m->users == 0) {
      munmap((void *)m->base, (size_t)m->size);
      *at = m->next;
      free(m);
    }
    break;
  }
  pthread_mutex_unlock(&mappings_lock);
}

static void unmap(store_t *store) {
  if (store->base != NULL) unmap_shared(store->base);
  if (store->fd >= 0) close(store->fd);
  store->base = NULL;
  store->fd = -1;
}

static void finalize_store(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unmap(data);
  free(data);
}

static napi_value open_store(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  double fd = 0;
  if (argc < 1) return throw_type_error(env, "open(fd) takes 1 argument");
  switch (get_integer(env, argv[0], 0, 2147483647.0, &fd)) {
    case -1: return throw_type_error(env, "fd must be a number");
    case 0: return throw_range_error(env, "fd must be a file descriptor");
  }
  struct stat st;
  if (fstat((int)fd, &st) != 0) return throw_errno(env, "fstat", errno);
  if (!S_ISREG(st.st_mode)) return throw_errno(env, "open", EINVAL);
  if ((uint64_t)st.st_size < RECORDS_OFFSET || (uint64_t)st.st_size > SIZE_MAX) {
    napi_throw_error(env, "LEAKED_STORE_INVALID", "the file is too short to be a leaked-hash store");
    return NULL;
  }

  store_t *store = calloc(1, sizeof *store);
  if (store == NULL) return throw_errno(env, "calloc", ENOMEM);
  store->size = (size_t)st.st_size;
  store->records = (store->size - RECORDS_OFFSET) / RECORD_BYTES;
  store->fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
  if (store->fd < 0) {
    const int error = errno;
    free(store);
    return throw_errno(env, "fcntl", error);
  }
  const uint8_t *base = map_shared((int)fd, &st);
  if (base == NULL) {
    const int error = errno;
    close(store->fd);
    free(store);
    return throw_errno(env, "mmap", error);
  }
  store->base = base;

  napi_value handle;
  if (napi_create_external(env, store, finalize_store, NULL, &handle) != napi_ok) {
    finalize_store(env, store, NULL);
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &STORE_TAG) != napi_ok) return NULL; /* the finalizer still runs */
  return handle;
}

static napi_value lookup(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) return throw_type_error(env, "lookup(handle, ntHashes, offset) takes 3 arguments");
  store_t *store = get_store(env, argv[0], 0);
  if (store == NULL) return NULL;
  uint8_t *hashes = NULL;
  size_t length = 0;
  double offset = 0;
  if (!get_bytes(env, argv[1], &hashes, &length)) return throw_type_error(env, "ntHashes must be a Uint8Array");
  switch (get_integer(env, argv[2], 0, 9007199254740991.0, &offset)) {
    case -1: return throw_type_error(env, "offset must be a number");
    case 0: return throw_range_error(env, "offset must be a non-negative integer");
  }
  if (length < HASH_BYTES || offset > (double)(length - HASH_BYTES)) return throw_range_error(env, "offset leaves no 16-byte hash in ntHashes");

  napi_value result;
  if (napi_create_uint32(env, lookup_one(store, hashes + (size_t)offset), &result) != napi_ok) return NULL;
  return result;
}

static napi_value lookup_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) return throw_type_error(env, "lookupBatch(handle, ntHashes, count, out) takes 4 arguments");
  store_t *store = get_store(env, argv[0], 0);
  if (store == NULL) return NULL;
  uint8_t *hashes = NULL;
  size_t length = 0, out_length = 0;
  napi_typedarray_type out_type;
  void *out = NULL;
  double count_value = 0;
  if (!get_bytes(env, argv[1], &hashes, &length)) return throw_type_error(env, "ntHashes must be a Uint8Array");
  if (!get_typed_array(env, argv[3], &out_type, &out, &out_length) || (out_type != napi_uint8_array && out_type != napi_uint32_array)) {
    return throw_type_error(env, "out must be a Uint8Array or a Uint32Array");
  }
  switch (get_integer(env, argv[2], 0, 9007199254740991.0, &count_value)) {
    case -1: return throw_type_error(env, "count must be a number");
    case 0: return throw_range_error(env, "count must be a non-negative integer");
  }
  /* Compared by division, so count * 16 cannot overflow. */
  if (count_value > (double)(length / HASH_BYTES)) return throw_range_error(env, "ntHashes is shorter than count * 16 bytes");
  if (count_value > (double)out_length) return throw_range_error(env, "out is shorter than count");

  struct stat st;
  if (fstat(store->fd, &st) != 0) return throw_errno(env, "fstat", errno);
  if ((uint64_t)st.st_size < store->size) {
    napi_throw_error(env, "LEAKED_STORE_INVALID", "truncated since it was opened");
    return NULL;
  }

  const size_t count = (size_t)count_value;
  for (size_t i = 0; i < count && i < PREFETCH_DISTANCE; i++) prefetch(store, hashes + i * HASH_BYTES);
  uint32_t found = 0;
  for (size_t i = 0; i < count; i++) {
    if (i + PREFETCH_DISTANCE < count) prefetch(store, hashes + (i + PREFETCH_DISTANCE) * HASH_BYTES);
    const uint32_t n = lookup_one(store, hashes + i * HASH_BYTES);
    found += n != 0;
    if (out_type == napi_uint8_array) ((uint8_t *)out)[i] = n != 0;
    else ((uint32_t *)out)[i] = n;
  }

  napi_value result;
  if (napi_create_uint32(env, found, &result) != napi_ok) return NULL;
  return result;
}

static napi_value close_store(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return throw_type_error(env, "close(handle) takes 1 argument");
  store_t *store = get_store(env, argv[0], 1);
  if (store == NULL) return NULL;
  unmap(store); /* the struct itself goes with the external's finalizer */
  return NULL;
}

NAPI_MODULE_INIT() {
  const struct {
    const char *name;
    napi_callback callback;
  } functions[] = {{"open", open_store}, {"lookup", lookup}, {"lookupBatch", lookup_batch}, {"close", close_store}};
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value function;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].callback, NULL, &function) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, functions[i].name, function) != napi_ok) return NULL;
  }
  return exports;
}

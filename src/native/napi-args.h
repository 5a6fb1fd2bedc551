/*
 * Argument checks shared by phsync's Node-API addons (src/hash/native, src/leaked/native): typed
 * errors with Node's codes, typed arrays read in place, integral numbers in a range. Header-only
 * (static inline): each addon is one translation unit compiled on its own at install time.
 */
#ifndef PHSYNC_NAPI_ARGS_H
#define PHSYNC_NAPI_ARGS_H

#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static inline napi_value throw_range_error(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

/* A typed array argument in place (data already points at byteOffset), with its length in elements. */
static inline int get_typed_array(napi_env env, napi_value value, napi_typedarray_type *type, void **data, size_t *length) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) return 0;
  return napi_get_typedarray_info(env, value, type, length, data, NULL, NULL) == napi_ok;
}

/* A Uint8Array argument, in place. */
static inline int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *pointer = NULL;
  if (!get_typed_array(env, value, &type, &pointer, length) || type != napi_uint8_array) return 0;
  *data = pointer;
  return 1;
}

/* An integral number argument in [min, max]: -1 if not a number, 0 if out of range, 1 if fine. */
static inline int get_integer(napi_env env, napi_value value, double min, double max, double *result) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return -1;
  if (napi_get_value_double(env, value, result) != napi_ok) return -1;
  return isfinite(*result) && floor(*result) == *result && *result >= min && *result <= max;
}

#endif

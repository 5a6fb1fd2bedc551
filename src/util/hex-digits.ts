/**
 * Each byte's (or character code's, below 256) value as a hex digit, either case; -1 for anything
 * else. One table for the parsers that decode hex on a hot path (HIBP lines, NT hashes from a
 * directory or a hashes file): a lookup and a sign test check and decode a digit at once.
 */
export const HEX_DIGIT_VALUES: Int8Array = Int8Array.from({ length: 256 }, (_, code) => {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
});

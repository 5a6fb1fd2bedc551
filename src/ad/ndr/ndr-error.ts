/** A malformed NDR stream: a peer sent bytes that do not decode as the structure expected. */
export class NdrError extends Error {
  override name = 'NdrError';
}

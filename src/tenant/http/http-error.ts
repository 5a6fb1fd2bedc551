import { PhsyncError } from '../../errors.ts';

/**
 * A request the tenant answers with an error status. `code` is the stable `error` field of the JSON
 * body and `message` its human text: neither ever carries a credential, a password or the token.
 */
export class HttpError extends PhsyncError {
  override name = 'HttpError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Close the connection after answering (the rest of the request is not read). */
  readonly closeConnection: boolean;

  constructor(status: number, code: string, message: string, options: { headers?: Record<string, string>; closeConnection?: boolean } = {}) {
    super(code, message);
    this.status = status;
    this.headers = options.headers ?? {};
    this.closeConnection = options.closeConnection ?? false;
  }
}

import { FatalError, errorMessage } from '../errors.ts';

export interface PushOptions {
  /** The Pushgateway's base URL, e.g. http://pushgateway:9091 (a path prefix is kept). */
  readonly url: string;
  /** The `job` grouping label (default phsync). */
  readonly job: string;
  /** More grouping labels, e.g. { instance: hostname }. */
  readonly grouping?: Readonly<Record<string, string>>;
  /** The exposition text to push: phsync's own metrics, not the process's. */
  readonly body: string;
  readonly contentType: string;
  readonly timeoutMs?: number;
}

/** Checks a --pushgateway URL before the run, so that a typo fails at once and not after hours. */
export function checkPushgatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FatalError('OPTION_INVALID', `--pushgateway ${JSON.stringify(text)} is not a URL: use http(s)://HOST:PORT`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FatalError('OPTION_INVALID', `--pushgateway must be an http(s):// URL, got ${url.protocol}`);
  // Credentials in a URL given on the command line are readable by every user of the machine.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new FatalError('OPTION_INVALID', `--pushgateway ${url.origin}: no user, password, query or fragment in the URL`);
  }
  return url;
}

/**
 * Pushes a batch job's final metrics to a Prometheus Pushgateway: PUT replaces every metric of the
 * group (job and grouping labels), so the group always holds the last run's values, as the
 * Pushgateway documentation advises for batch jobs. Label values go base64url-encoded in the path
 * (`/job@base64/…`), so any value is safe there.
 */
export async function pushMetrics(options: PushOptions): Promise<void> {
  const base = checkPushgatewayUrl(options.url);
  const labels: [string, string][] = [['job', options.job], ...Object.entries(options.grouping ?? {})];
  const path = labels.map(([name, value]) => `/${name}@base64/${Buffer.from(value, 'utf8').toString('base64url') || '='}`).join('');
  const url = new URL(`${base.pathname.replace(/\/+$/u, '')}/metrics${path}`, base);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': options.contentType },
      body: options.body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new FatalError('PUSHGATEWAY_FAILED', `cannot push metrics to ${base.origin}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`, { cause: err });
  }
  if (!response.ok) {
    const text = (await response.text()).slice(0, 500).trim();
    throw new FatalError('PUSHGATEWAY_FAILED', `the Pushgateway at ${base.origin} refused the metrics: HTTP ${response.status}${text === '' ? '' : `: ${text}`}`);
  }
  await response.body?.cancel();
}

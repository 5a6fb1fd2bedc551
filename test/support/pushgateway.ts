import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const PUSHGATEWAY_BIN = '/usr/bin/prometheus-pushgateway';

export interface RunningPushgateway extends AsyncDisposable {
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The real Prometheus Pushgateway (Debian's prometheus-pushgateway), on a free loopback port, without
 * persistence. Ready when /-/ready answers 200.
 */
export async function startPushgateway(): Promise<RunningPushgateway> {
  if (!existsSync(PUSHGATEWAY_BIN)) throw new Error(`${PUSHGATEWAY_BIN} is missing: apt-get install prometheus-pushgateway (.ci/run installs it)`);
  const port = await freePort();
  const child = spawn(PUSHGATEWAY_BIN, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`the Pushgateway exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) return { url, stop, [Symbol.asyncDispose]: stop };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  await stop();
  throw new Error(`the Pushgateway did not become ready: ${stderr}`);
}

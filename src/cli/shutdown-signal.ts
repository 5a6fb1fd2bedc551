import { log } from '../observe/logger.ts';
/**
 * One AbortSignal for the whole process, raised by SIGINT or SIGTERM: stages stop taking new work
 * and finish what they hold. A second signal exits at once (the state store is safe at any instant).
 */
export function shutdownSignal(onSecond: () => void = () => process.exit(130)): AbortSignal {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      onSecond();
      return;
    }
    log().warn(`${signal} received, finishing the batches in flight (again to stop at once)`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}

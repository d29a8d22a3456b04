/**
 * SIGINT/SIGTERM while networks are alive: dispose them all, then let the signal do what it
 * would have done. Installed only while something is alive, and only when nobody else (a CLI
 * command, the user's code) listens for the signal — then that listener owns shutdown.
 * A SIGKILL skips all of this; harness/common/child-process/reaper.ts covers that case.
 */
interface Disposable {
  dispose(): Promise<void>;
}

const alive = new Set<Disposable>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  uninstall();
  const pending = [...alive].map((d) => d.dispose().catch(() => undefined));
  void Promise.all(pending).finally(() => process.kill(process.pid, signal));
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(signal) === 0) process.once(signal, onSignal);
  }
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}

export function trackForSignals(resource: Disposable): void {
  alive.add(resource);
  install();
}

export function untrackForSignals(resource: Disposable): void {
  alive.delete(resource);
  if (alive.size === 0) uninstall();
}

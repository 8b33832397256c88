/**
 * Child processes (gateways, brokers) that must not outlive the run that started them. A soak or test stopped from
 * outside (Ctrl-C, `timeout`, SIGTERM) exits without its `finally` blocks; without this its gateway and broker kept
 * running and holding their ports. SIGKILL of the parent cannot be caught: nothing helps there.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let installed = false;

const SIGNAL_EXIT_CODES: Array<[NodeJS.Signals, number]> = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]];

function install(): void {
  installed = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  for (const [signal, code] of SIGNAL_EXIT_CODES) {
    // A program with its own handler (mocha's SIGINT) decides itself; otherwise exit as the signal would, but
    // through process.exit so the 'exit' handler above runs.
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(code));
  }
}

/** The child is SIGKILLed if this process exits (or is stopped by SIGINT, SIGTERM or SIGHUP) while it runs. */
export function killWithParent(child: ChildProcess): ChildProcess {
  if (!installed) install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

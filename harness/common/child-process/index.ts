/** One way to run a child process: spawn (own group, reaper), readiness, stop escalation, stderr tail. */
export { ChildProcessHandle, ChildExitedError, ReadyTimeoutError, describeExit, type ExitInfo, type SpawnOptions, type StopPlan } from './spawn.js';
export { signalGroup, isProcessAlive } from './signal.js';
export { OutputTail } from './output-tail.js';
export { guardProcess, releaseProcess, guardPath, releasePath, guardClaim, releaseClaim, watchdogPid } from './reaper.js';

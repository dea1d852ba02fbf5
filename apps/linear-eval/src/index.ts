export { baselineTrunk, loadTrunkFromCheckpoint, probeLabel, probeTrunk } from './probe';
export type { BaselineKind } from './probe';
export { probeMetrics, trackedProbe } from './tracked';
export type { TrackedProbeOptions } from './tracked';

// One error type for everything this library refuses or fails at. Messages are one line: the problem and the fix.

export type ClusterErrorCode =
  | 'INVALID_SPEC' // the ArraySpec itself is wrong (empty tasks, bad time format, ...)
  | 'NO_SBATCH' // no sbatch on PATH
  | 'MISSING_ENV' // a required environment value is unset
  | 'UNKNOWN_PARTITION' // the partition does not exist on this cluster
  | 'CLUSTER_UNREACHABLE' // sinfo/scontrol cannot reach slurmctld
  | 'REJECTED' // `sbatch --test-only` refused the script (gres, time limit, array size, ...)
  | 'SBATCH_FAILED' // the real submission failed
  | 'COMMAND_FAILED' // another SLURM command failed
  | 'TIMEOUT'; // a bounded wait ran out

export class ClusterError extends Error {
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}

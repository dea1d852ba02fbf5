#!/usr/bin/env bash
# `npm run slurm:local [-- --stop | --status]`: a real one-node SLURM cluster on this machine, for the integration
# tests of libs/cluster and for trying `--scheduler slurm` without a site.
#
# Start (default) is idempotent: it installs Debian's `slurm-wlm` and `munge` if missing, starts munged, writes
# /etc/slurm/slurm.conf (only if absent or written by this script), starts slurmctld and slurmd on localhost
# unless they already run with the same configuration, and waits until `sinfo` shows the node up and idle.
# No systemd needed (the daemons are started directly), no cgroups (proctrack/linuxproc, task/none), no
# accounting database (requeue does not need one; finished jobs are appended to a jobcomp text file).
#
# Files: /etc/slurm/slurm.conf (the client commands find it there without SLURM_CONF), state, spool, pid files and
# logs under ${SLURM_LOCAL_DIR:-/var/lib/unigrad-slurm} (ctld/, d/, run/, log/). Must run as root.
set -euo pipefail

STATE="${SLURM_LOCAL_DIR:-/var/lib/unigrad-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# Managed by UniGrad-TS tools/slurm-local.sh (npm run slurm:local); rewritten on every start."
PARTITION="${SLURM_LOCAL_PARTITION:-local}"
WAIT_S="${SLURM_LOCAL_WAIT_S:-60}"
NODE="$(hostname -s)"

say() { echo "slurm:local: $*"; }
die() { echo "slurm:local: $*" >&2; exit 1; }

alive() { # alive PIDFILE NAME: the pid in PIDFILE is running and is NAME
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

stop_pid() { # stop_pid PIDFILE NAME: SIGTERM, wait up to 15 s, then SIGKILL
  local pid
  alive "$1" "$2" || return 0
  pid="$(cat "$1")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do alive "$1" "$2" || return 0; sleep 0.5; done
  say "$2 (pid $pid) did not stop in 15 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

node_state() { sinfo -h -n "$NODE" -o %t 2>/dev/null | head -1 | tr -d '[:space:]'; }

stop_slurm() {
  if command -v scancel >/dev/null 2>&1 && alive "$STATE/run/slurmctld.pid" slurmctld; then
    # Cancel what is still queued or running so no job outlives the cluster (slurmstepd survives slurmd).
    scancel --partition="$PARTITION" 2>/dev/null || true
    for _ in $(seq 1 20); do [ -z "$(squeue -h -p "$PARTITION" -t R,CG 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  stop_pid "$STATE/run/slurmd.pid" slurmd
  stop_pid "$STATE/run/slurmctld.pid" slurmctld
}

stop_cluster() {
  stop_slurm
  if [ -f "$STATE/run/munged.ours" ]; then
    stop_pid /run/munge/munged.pid munged
    rm -f "$STATE/run/munged.ours"
  fi
}

status() {
  local s
  if munge_ok; then say "munged: running"; else say "munged: not running"; fi
  if alive "$STATE/run/slurmctld.pid" slurmctld; then say "slurmctld: running (pid $(cat "$STATE/run/slurmctld.pid"))"; else say "slurmctld: not running"; fi
  if alive "$STATE/run/slurmd.pid" slurmd; then say "slurmd: running (pid $(cat "$STATE/run/slurmd.pid"))"; else say "slurmd: not running"; fi
  s="$(node_state || true)"
  say "node $NODE: ${s:-no answer from sinfo}"
}

case "${1:-}" in
  --stop) [ "$(id -u)" = 0 ] || die "needs root (it stops daemons it started as root)."
          stop_cluster; say "stopped (state kept in $STATE)"; exit 0 ;;
  --status) status; exit 0 ;;
  ""|--start) ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1'. Usage: npm run slurm:local [-- --stop | --status]" ;;
esac

[ "$(id -u)" = 0 ] || die "needs root: it installs packages, writes $CONF and starts munged, slurmctld and slurmd. Run it as root (CI does)."

# 1. Packages.
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "slurm-wlm/munge are not installed and there is no apt-get; install SLURM (slurmctld, slurmd, client) and MUNGE yourself."
  say "installing Debian packages slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed (see the output above)."
  fi
fi

# 2. MUNGE (authentication between the SLURM commands and daemons).
mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/run" "$STATE/log"
if ! munge_ok; then
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged --force || die "munged did not start; see /var/log/munge/munged.log"
  touch "$STATE/run/munged.ours"
  for _ in $(seq 1 20); do munge_ok && break; sleep 0.5; done
  munge_ok || die "munged started but 'munge -n | unmunge' fails; see /var/log/munge/munged.log"
fi

# 3. slurm.conf, with the node's hardware exactly as slurmd detects it (a configured CPU count or RealMemory above
#    what slurmd finds would DRAIN the node).
HW="$(slurmd -C | head -1)"
case "$HW" in NodeName=*) ;; *) die "'slurmd -C' printed no node line: $HW" ;; esac
HW="${HW#NodeName=* }"   # keep CPUs=… Boards=… SocketsPerBoard=… CoresPerSocket=… ThreadsPerCore=… RealMemory=…
WANT="$(cat <<EOF
$MARK
# Hardware line from 'slurmd -C'; state, spool and logs under $STATE.
ClusterName=unigrad-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (default 120).
AuthInfo=cred_expire=10
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 $HW State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)"
if [ -f "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script (a real SLURM installation?); refusing to overwrite it. Move it away to use the local test cluster."
fi
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$WANT" ]; then
  if alive "$STATE/run/slurmctld.pid" slurmctld || alive "$STATE/run/slurmd.pid" slurmd; then
    say "configuration changed; restarting the daemons"
    stop_slurm
  fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$WANT" > "$CONF"
  say "wrote $CONF (node $NODE: $HW)"
fi

# 4. Daemons (they fork into the background themselves).
if ! alive "$STATE/run/slurmctld.pid" slurmctld; then
  say "starting slurmctld (log $STATE/log/slurmctld.log)"
  slurmctld || die "slurmctld did not start; see $STATE/log/slurmctld.log"
fi
if ! alive "$STATE/run/slurmd.pid" slurmd; then
  say "starting slurmd (log $STATE/log/slurmd.log)"
  slurmd || die "slurmd did not start; see $STATE/log/slurmd.log"
fi

# 5. Wait until the node is up. idle is the goal; mix/alloc means jobs from an earlier start are running, also fine.
resumed=0
for _ in $(seq 1 $((WAIT_S * 2))); do
  s="$(node_state || true)"
  case "$s" in
    idle|mix|alloc|comp) say "ready: node $NODE is $s in partition $PARTITION (sinfo; stop with: npm run slurm:local -- --stop)"; exit 0 ;;
    drain*|drng|down*|fail*)
      if [ "$resumed" = 0 ]; then
        say "node $NODE is $s ($(sinfo -h -R -n "$NODE" -o %E 2>/dev/null || true)); resuming it once"
        scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
        resumed=1
      fi ;;
  esac
  sleep 0.5
done
s="$(node_state || true)"
die "node $NODE not idle after ${WAIT_S} s (state: ${s:-no answer from sinfo}; reason: $(sinfo -h -R -n "$NODE" -o %E 2>/dev/null || true)). Logs: $STATE/log/slurmctld.log, $STATE/log/slurmd.log"

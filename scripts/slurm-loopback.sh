#!/usr/bin/env bash
# A single-node Slurm cluster on loopback, for CI and tests: munged, slurmctld and slurmd on
# this machine, one node with all its CPUs and one fake GPU, no accounting database.
#
#   scripts/slurm-loopback.sh start|stop|status
#
# Needs root and Debian's slurm-wlm and munge. Writes /etc/slurm/slurm.conf and gres.conf (srun
# inside a job finds no configuration elsewhere); state, logs and PID files go under
# $SLURM_LOOPBACK_DIR (default /tmp/slurm-loopback). Stops the daemons by their recorded PIDs.
# Run snakemake against it with --slurm-status-command squeue (sacct needs accounting).
set -euo pipefail

STATE=${SLURM_LOOPBACK_DIR:-/tmp/slurm-loopback}
CONF=/etc/slurm
DAEMONS=(munged slurmctld slurmd)  # started in this order, stopped in reverse

pid_file() { echo "$STATE/$1.pid"; }

running() {
  local pid
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}

write_config() {
  local node host
  node=$(slurmd -C | head -n 1)  # "NodeName=<host> CPUs=... RealMemory=..."
  host=${node%% *}
  host=${host#NodeName=}
  install -d "$CONF" "$STATE/ctld" "$STATE/spool"
  cat >"$CONF/slurm.conf" <<EOF
# Written by transitflow's scripts/slurm-loopback.sh: a single-node cluster on loopback.
ClusterName=loopback
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
ReturnToService=2
GresTypes=gpu
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$(pid_file slurmctld)
SlurmdPidFile=$(pid_file slurmd)
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
$node Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$CONF/gres.conf" <<EOF
# A fake GPU: File=/dev/null lets Slurm count it; nothing can compute on it.
AutoDetect=off
NodeName=$host Name=gpu File=/dev/null
EOF
}

start_munged() {
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 "$STATE/munge"
  runuser -u munge -- munged --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log"
  ln -sf "$STATE/munge/munged.pid" "$(pid_file munged)"
}

wait_for_idle_node() {
  local state
  for _ in $(seq 60); do
    state=$(sinfo --noheader --format=%T 2>/dev/null || true)
    if [[ $state == idle ]]; then
      return 0
    fi
    sleep 0.5
  done
  echo "slurm-loopback: the node is '${state:-unknown}', not idle; see $STATE/*.log" >&2
  return 1
}

start() {
  if running slurmctld; then
    echo "slurm-loopback: already running (state in $STATE)"
    return 0
  fi
  install -d -m 0755 "$STATE"
  write_config
  running munged || start_munged
  slurmctld -c
  slurmd
  wait_for_idle_node
  echo "slurm-loopback: started (state in $STATE)"
}

stop() {
  local index name pid
  for ((index = ${#DAEMONS[@]} - 1; index >= 0; index--)); do
    name=${DAEMONS[index]}
    running "$name" || continue
    pid=$(cat "$(pid_file "$name")")
    kill "$pid"
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  done
  echo "slurm-loopback: stopped"
}

status() {
  local name code=0
  for name in "${DAEMONS[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(cat "$(pid_file "$name")"))"
    else
      echo "$name: not running"
      code=3
    fi
  done
  return "$code"
}

case ${1:-} in
  start | stop | status) "$1" ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

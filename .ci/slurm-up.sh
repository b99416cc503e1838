#!/usr/bin/env bash
# Start a real single-node Slurm cluster (munged, slurmctld, slurmd) on this machine, for the
# tests and benchmarks of `--executor=slurm` (docs/slurm.md). No systemd, no cgroups: works in a
# container as root. State lives under $CMX_SLURM_DIR (default: cmx-slurm in the temp folder); the
# daemons are stopped by PID with .ci/slurm-down.sh.
#
#   .ci/slurm-up.sh            install (apt-get, when the packages are missing) and start
#   CMX_SLURM_NO_INSTALL=1 ... start only; exits 3 when Slurm is not installed
#
# Exit 0: Slurm is up (sinfo answers). Exit 3: Slurm cannot be set up here (the reason on stderr).
set -euo pipefail

DIR="${CMX_SLURM_DIR:-$(dirname "$(mktemp -u)")/cmx-slurm}"  # default: in the temp folder
say() { echo "slurm-up: $*" >&2; }
unavailable() { say "$*"; mkdir -p "$DIR" && echo "$*" > "$DIR/unavailable"; exit 3; }

mkdir -p "$DIR"
rm -f "$DIR/unavailable"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    if [ -n "${CMX_SLURM_NO_INSTALL:-}" ]; then unavailable "slurm-wlm/munge are not installed"; fi
    if ! command -v apt-get >/dev/null; then unavailable "apt-get is not available to install slurm-wlm and munge"; fi
    if [ "$(id -u)" != 0 ]; then unavailable "installing slurm-wlm and munge needs root (apt-get)"; fi
    say "installing slurm-wlm and munge (apt-get)"
    # a new machine may have no package lists yet: refresh them once when the install cannot find the packages
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >"$DIR/apt.log" 2>&1 \
       && ! { apt-get update -q >>"$DIR/apt.log" 2>&1 \
              && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >>"$DIR/apt.log" 2>&1; }; then
        unavailable "apt-get install slurm-wlm munge failed (see $DIR/apt.log)"
    fi
fi
if [ "$(id -u)" != 0 ]; then unavailable "starting slurmd needs root"; fi

# already up? (a second call is a no-op)
if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null \
   && SLURM_CONF="$DIR/slurm.conf" sinfo -h >/dev/null 2>&1; then
    say "already running (state in $DIR)"; exit 0
fi

HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {printf "%d", $2/1024*0.9}' /proc/meminfo)"
mkdir -p "$DIR"/{state,spool,log,munge}
chmod 700 "$DIR/munge"

# munge: a fresh key for this cluster, its own socket
if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
fi
chmod 400 "$DIR/munge/munge.key"
mkdir -p /run/munge
SOCK=/run/munge/munge.socket.2   # the default socket: the slurm binaries look there
if ! { [ -f "$DIR/munged.pid" ] && kill -0 "$(cat "$DIR/munged.pid")" 2>/dev/null; }; then
    munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCK" \
           --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/seed"
fi

cat > "$DIR/slurm.conf" <<CONF
# written by .ci/slurm-up.sh: one node, this machine
ClusterName=cmx
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a re-queued job waits this long before it starts again (Slurm's default: 120 s); still ample for a
# job step on one loaded machine to launch with its credential
AuthInfo=cred_expire=30
CryptoType=crypto/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=${CMX_SLURMCTLD_PORT:-6817}
SlurmdPort=${CMX_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
Waittime=0
SchedulerParameters=sched_interval=1
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
# the client commands (sinfo, sbatch, srun) read /etc/slurm/slurm.conf unless SLURM_CONF is set
mkdir -p /etc/slurm
if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
    ln -sfn "$DIR/slurm.conf" /etc/slurm/slurm.conf
fi
export SLURM_CONF="$DIR/slurm.conf"

slurmctld -c -f "$SLURM_CONF"     # -c: a clean state (no jobs of an earlier cluster)
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        say "up: $(sinfo -h -o '%N %c CPUs %m MB %T') (state in $DIR)"
        exit 0
    fi
    sleep 0.5
done
scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then say "up (resumed)"; exit 0; fi
unavailable "slurmctld/slurmd did not come up within 30 s (logs in $DIR/log)"

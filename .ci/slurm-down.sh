#!/usr/bin/env bash
# Stop the cluster started by .ci/slurm-up.sh, by PID (slurmd, slurmctld, munged).
set -uo pipefail
DIR="${CMX_SLURM_DIR:-$(dirname "$(mktemp -u)")/cmx-slurm}"  # default: in the temp folder
for name in slurmd slurmctld munged; do
    pidfile="$DIR/$name.pid"
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
done
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$DIR/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
fi
echo "slurm-down: stopped (state kept in $DIR)" >&2

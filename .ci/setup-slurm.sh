#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost for lute's tests.
#
#   bash .ci/setup-slurm.sh          install (if needed) and start; prints exports
#   bash .ci/setup-slurm.sh stop     stop the daemons this script started
#
# stdout carries only `export NAME=VALUE` lines (.ci/run evals them); all
# other output goes to stderr. Idempotent: when the cluster described by the
# config in $LUTE_SLURM_DIR already answers with an idle node, nothing is
# restarted. Set LUTE_SLURM_NO_INSTALL=1 to never call apt-get (the pytest
# fixture does, so a test run never installs system packages).
#
# The cluster: munged, slurmctld and slurmd as root; node = `hostname -s` at
# 127.0.0.1 with `nproc` CPUs; no cgroups, no accounting database (finished
# jobs stay visible to `squeue --states=all` for MinJobAge seconds, and are
# also written to a jobcomp text file).
set -euo pipefail

DIR=${LUTE_SLURM_DIR:-/tmp/lute-slurm}
CONF="$DIR/slurm.conf"
DEADLINE_S=${LUTE_SLURM_DEADLINE_S:-60}

log() { echo "setup-slurm: $*" >&2; }

stop_daemons() {
    for name in slurmd slurmctld; do
        pidfile="$DIR/$name.pid"
        if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            pid=$(cat "$pidfile")
            log "stopping $name (pid $pid)"
            kill "$pid"
            deadline=$((SECONDS + 30))
            while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
                sleep 0.2
            done
        fi
        rm -f "$pidfile"
    done
}

if [ "${1:-}" = "stop" ]; then
    stop_daemons
    exit 0
fi

node_state() {
    SLURM_CONF="$CONF" timeout 10 sinfo --noheader --Node --format=%T 2>/dev/null | head -n1 || true
}

print_exports() {
    echo "export SLURM_CONF=$CONF"
}

# 1. Already running? Then only tell the caller where it is.
if [ -f "$CONF" ] && command -v sinfo >/dev/null && [ "$(node_state)" = "idle" ]; then
    log "cluster in $DIR is already up"
    print_exports
    exit 0
fi

# 2. Install the Debian packages when the binaries are missing.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    if [ -n "${LUTE_SLURM_NO_INSTALL:-}" ]; then
        log "SLURM or munge is not installed (and LUTE_SLURM_NO_INSTALL is set)"
        exit 1
    fi
    log "installing slurm-wlm and munge from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends slurm-wlm munge >&2
fi

# 3. munge: a key, a socket directory, a running daemon.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown root:root /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    log "starting munged"
    munged --force
    munge -n | unmunge >/dev/null
fi

# 4. The cluster's configuration and state, all under $DIR.
stop_daemons
mkdir -p "$DIR/state" "$DIR/spool"
HOST=$(hostname -s)
CPUS=$(nproc)
cat >"$CONF" <<EOF
# Written by lute's .ci/setup-slurm.sh: a one-node test cluster.
ClusterName=lute
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=${LUTE_SLURMCTLD_PORT:-6817}
SlurmdPort=${LUTE_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
MinJobAge=600
KillWait=10
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# 5. Start the daemons and wait, with a deadline, for the node to be idle.
log "starting slurmctld and slurmd (config $CONF)"
SLURM_CONF="$CONF" slurmctld -i
SLURM_CONF="$CONF" slurmd
deadline=$((SECONDS + DEADLINE_S))
until [ "$(node_state)" = "idle" ]; do
    if [ $SECONDS -ge $deadline ]; then
        log "node not idle after ${DEADLINE_S}s (state: '$(node_state)'); logs:"
        tail -n 20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "cluster up: node $HOST, $CPUS CPUs"
print_exports

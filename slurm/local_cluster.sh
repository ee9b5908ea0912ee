#!/usr/bin/env bash
# A single-node SLURM cluster on this (Debian) machine, for the integration tests and for trying the
# `slurm` profile without a real cluster. Needs root and Debian's slurm-wlm + munge:
#     apt-get install slurm-wlm munge
#     bash slurm/local_cluster.sh start     # munged, slurmctld, slurmd; waits until the node is idle
#     bash slurm/local_cluster.sh status    # daemons and `sinfo`
#     bash slurm/local_cluster.sh stop      # cancels jobs, stops what `start` started
#     bash slurm/local_cluster.sh clean     # stop, then remove the files `start` wrote
#
# The node has the machine's real CPUs and memory and one fake GPU (gres `gpu`, File=/dev/null), so a
# `--gpus=1` job runs with CUDA_VISIBLE_DEVICES=0. Partitions: `main` (default) and `gpu`, both the same node.
# Accounting is off, so Snakemake's SLURM plugin must poll with `squeue` (MinJobAge is 300 s here).
#
# The configuration goes to /etc/slurm (srun inside a job only finds it there, SLURM_CONF is not enough);
# an existing slurm.conf or gres.conf that this script did not write is never overwritten.
# Daemon state, spool, logs and pid files live in $AVSEC_SLURM_STATE (default /var/lib/avsec-slurm).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # the daemons live there; a non-login root shell may lack them

STATE_DIR=${AVSEC_SLURM_STATE:-/var/lib/avsec-slurm}
CLUSTER_NAME=${AVSEC_SLURM_CLUSTER:-avsec}
WAIT_S=${AVSEC_SLURM_WAIT:-60}
CONF_DIR=/etc/slurm
SLURM_CONF_FILE=$CONF_DIR/slurm.conf
GRES_CONF_FILE=$CONF_DIR/gres.conf
MARKER="# Written by avsec slurm/local_cluster.sh; it may rewrite or remove this file."
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MUNGED_PIDFILE=$STATE_DIR/munged.pid # only present when this script started munged

CTLD_PIDFILE=$STATE_DIR/slurmctld.pid
SLURMD_PIDFILE=$STATE_DIR/slurmd.pid
LOG_DIR=$STATE_DIR/log

die() {
    echo "local_cluster: $*" >&2
    exit 1
}
say() { echo "local_cluster: $*"; }

# pid recorded in file $1 if that process is alive and its command is $2
live_pid() {
    local file=$1 name=$2 pid comm
    [ -s "$file" ] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [ "$comm" = "$name" ] || return 1
    echo "$pid"
}

# SIGTERM the process recorded in $1 (command $2), wait for it to exit, SIGKILL after 20 s
stop_daemon() {
    local file=$1 name=$2 pid i
    if ! pid=$(live_pid "$file" "$name"); then
        rm -f "$file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$file"
    say "stopped $name (pid $pid)"
}

tail_logs() {
    local f
    for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
        [ -f "$f" ] || continue
        echo "----- last lines of $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

fail_start() {
    echo "local_cluster: $*" >&2
    tail_logs
    exit 1
}

node_name() { hostname -s; }

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

# a file we may (re)write: absent, or carrying our marker
ours_or_absent() { [ ! -e "$1" ] || grep -qxF "$MARKER" "$1"; }

check_prerequisites() {
    [ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd and writes /etc/slurm)"
    local tool
    for tool in munged munge unmunge slurmctld slurmd sinfo scontrol; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "'$tool' not found; install Debian's packages: apt-get install slurm-wlm munge"
    done
}

start_munge() {
    if munge_works; then
        say "munged already running"
        return 0
    fi
    id munge >/dev/null 2>&1 || die "no 'munge' user; is the munge package installed?"
    install -d -m 0700 -o munge -g munge /etc/munge
    if [ ! -s "$MUNGE_KEY" ]; then
        say "creating munge key $MUNGE_KEY"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY" --force
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
    install -d -m 0755 -o munge -g munge "$MUNGE_RUN"
    install -d -m 0711 -o munge -g munge /var/lib/munge
    install -d -m 0700 -o munge -g munge /var/log/munge
    # munged refuses to run as root unless forced; run it as its own user like the Debian service does
    rm -f "$MUNGE_RUN/munged.pid"
    if command -v runuser >/dev/null 2>&1; then
        runuser -u munge -- munged || fail_start "munged did not start"
    else
        su -s /bin/sh munge -c munged || fail_start "munged did not start"
    fi
    local i
    for ((i = 0; i < 100; i++)); do
        munge_works && break
        sleep 0.1
    done
    munge_works || fail_start "munged started but 'munge -n | unmunge' fails"
    [ -s "$MUNGE_RUN/munged.pid" ] && cp "$MUNGE_RUN/munged.pid" "$MUNGED_PIDFILE"
    say "started munged (pid $(cat "$MUNGED_PIDFILE" 2>/dev/null || echo '?'))"
}

write_config() {
    local node hw cpus boards sockets cores threads mem field
    node=$(node_name)
    ours_or_absent "$SLURM_CONF_FILE" ||
        die "$SLURM_CONF_FILE exists and was not written by this script; move it away (or use that cluster) first"
    ours_or_absent "$GRES_CONF_FILE" ||
        die "$GRES_CONF_FILE exists and was not written by this script; move it away (or use that cluster) first"
    # the node's real topology and memory as slurmd sees them (first line of `slurmd -C`)
    hw=$(slurmd -C 2>/dev/null | head -n 1) || true
    cpus=$(nproc)
    boards=1 sockets=1 cores=$cpus threads=1
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    for field in $hw; do
        case $field in
            CPUs=*) cpus=${field#CPUs=} ;;
            Boards=*) boards=${field#Boards=} ;;
            SocketsPerBoard=*) sockets=${field#SocketsPerBoard=} ;;
            CoresPerSocket=*) cores=${field#CoresPerSocket=} ;;
            ThreadsPerCore=*) threads=${field#ThreadsPerCore=} ;;
            RealMemory=*) mem=${field#RealMemory=} ;;
        esac
    done
    # leave a little memory to the daemons, so that a job asking for "all" still fits
    mem=$((mem * 95 / 100))
    install -d -m 0755 "$CONF_DIR" "$STATE_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$LOG_DIR"
    cat >"$SLURM_CONF_FILE" <<EOF
$MARKER
# Single-node test cluster: $node, ${cpus} CPUs, ${mem} MB, one fake GPU.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$CTLD_PIDFILE
SlurmdPidFile=$SLURMD_PIDFILE
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups: plain process tracking, no task binding (works in containers)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# accounting off: Snakemake's SLURM plugin polls with squeue, which sees a finished job for MinJobAge
# seconds; the plugin polls at most every 180 s, so keep this well above that
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldTimeout=60
SlurmdTimeout=120
InactiveLimit=0
KillWait=10
Waittime=0
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node Default=NO MaxTime=INFINITE State=UP
EOF
    cat >"$GRES_CONF_FILE" <<EOF
$MARKER
# One fake GPU: jobs asking for --gpus=1 / --gres=gpu:1 get CUDA_VISIBLE_DEVICES=0.
AutoDetect=off
NodeName=$node Name=gpu Count=1 File=/dev/null
EOF
    chmod 0644 "$SLURM_CONF_FILE" "$GRES_CONF_FILE"
}

node_state() { sinfo -h -N -n "$(node_name)" -o %T 2>/dev/null | head -n 1; }

wait_idle() {
    local node state i
    node=$(node_name)
    for ((i = 0; i < WAIT_S * 2; i++)); do
        state=$(node_state || true)
        case $state in
            idle | mixed | allocated | completing) return 0 ;;
            drain* | down*)
                # e.g. left over from an earlier run; ReturnToService=2 normally clears it
                scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
                ;;
        esac
        sleep 0.5
    done
    fail_start "node $node did not become idle within ${WAIT_S} s (sinfo state: '${state:-none}'; $(scontrol show node "$node" 2>/dev/null | grep -o 'Reason=.*' || true))"
}

cmd_start() {
    check_prerequisites
    local ctld slurmd
    ctld=$(live_pid "$CTLD_PIDFILE" slurmctld || true)
    slurmd=$(live_pid "$SLURMD_PIDFILE" slurmd || true)
    if [ -n "$ctld" ] && [ -n "$slurmd" ]; then
        munge_works || start_munge
        wait_idle
        say "already running (slurmctld $ctld, slurmd $slurmd)"
        return 0
    fi
    # half running: stop the rest, then start afresh
    [ -z "$ctld$slurmd" ] || cmd_stop
    install -d -m 0755 "$STATE_DIR" "$LOG_DIR"
    write_config
    start_munge
    # -c: fresh controller state (no jobs or node states left over from an earlier run)
    slurmctld -c -f "$SLURM_CONF_FILE" || fail_start "slurmctld did not start"
    local i
    for ((i = 0; i < 100; i++)); do
        live_pid "$CTLD_PIDFILE" slurmctld >/dev/null && break
        sleep 0.1
    done
    ctld=$(live_pid "$CTLD_PIDFILE" slurmctld) || fail_start "slurmctld exited right after starting"
    slurmd -N "$(node_name)" -f "$SLURM_CONF_FILE" || fail_start "slurmd did not start"
    for ((i = 0; i < 100; i++)); do
        live_pid "$SLURMD_PIDFILE" slurmd >/dev/null && break
        sleep 0.1
    done
    slurmd=$(live_pid "$SLURMD_PIDFILE" slurmd) || fail_start "slurmd exited right after starting"
    wait_idle
    say "started slurmctld (pid $ctld) and slurmd (pid $slurmd); node $(node_name) is idle"
}

cmd_stop() {
    local jobs i
    if live_pid "$CTLD_PIDFILE" slurmctld >/dev/null; then
        # cancel what is still queued or running, so that no job step outlives the cluster
        jobs=$(squeue -h -o %A -t PENDING,RUNNING,SUSPENDED,COMPLETING 2>/dev/null || true)
        if [ -n "$jobs" ]; then
            say "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
            # shellcheck disable=SC2086  # one job id per word
            scancel $jobs 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do
                [ -z "$(squeue -h -o %A -t RUNNING,COMPLETING 2>/dev/null || true)" ] && break
                sleep 0.2
            done
        fi
    fi
    stop_daemon "$SLURMD_PIDFILE" slurmd
    stop_daemon "$CTLD_PIDFILE" slurmctld
    # munged only if this script started it (then its pid is recorded here)
    stop_daemon "$MUNGED_PIDFILE" munged
}

cmd_clean() {
    cmd_stop
    local f
    for f in "$SLURM_CONF_FILE" "$GRES_CONF_FILE"; do
        if [ -e "$f" ] && grep -qxF "$MARKER" "$f"; then
            rm -f "$f"
            say "removed $f"
        fi
    done
    rm -rf "$STATE_DIR"
}

cmd_status() {
    local ctld slurmd rc=0
    if ctld=$(live_pid "$CTLD_PIDFILE" slurmctld); then echo "slurmctld: running (pid $ctld)"; else
        echo "slurmctld: stopped"
        rc=3
    fi
    if slurmd=$(live_pid "$SLURMD_PIDFILE" slurmd); then echo "slurmd: running (pid $slurmd)"; else
        echo "slurmd: stopped"
        rc=3
    fi
    if munge_works; then echo "munged: running"; else
        echo "munged: not answering"
        rc=3
    fi
    if [ "$rc" = 0 ]; then
        sinfo || rc=3
    fi
    return "$rc"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    clean) cmd_clean ;;
    *)
        echo "usage: $0 start|stop|status|clean" >&2
        exit 2
        ;;
esac

#!/bin/bash
# slurm-conf.sh - print a slurm.conf with vmbatch's choices, from its options.
# Pure: reads nothing, writes nothing but stdout, needs neither root nor Slurm.
# scripts/slurm-up.sh (one node) and tests/integration/test-cluster.sh (two
# nodes in namespaces) write their slurm.conf with it.
#
#   scripts/slurm-conf.sh --ctld NAME --ctld-addr ADDR \
#       --node NAME,ADDR,CPUS,MEM_MIB [--node ...] [options] >slurm.conf
#
# Options (the paths default to Debian's, those of the machine's Slurm):
#   --comment TEXT        a line "# TEXT" at the top (repeatable, in order);
#                         slurm-up.sh's first one is its mark
#   --cluster NAME        ClusterName (vmbatch)
#   --ctld NAME           SlurmctldHost, the controller's host name (required)
#   --ctld-addr ADDR      ... and the address slurmd and clients reach it at:
#                         SlurmctldHost=NAME(ADDR) (default: NAME resolves)
#   --node NAME,ADDR,CPUS,MEM_MIB
#                         a NodeName line (NodeAddr ADDR, CPUs, RealMemory);
#                         repeatable, at least one; all of them form the
#                         partition
#   --partition NAME      the one partition, default for every job (vms)
#   --ctld-pidfile FILE   SlurmctldPidFile (/run/slurmctld.pid)
#   --slurmd-pidfile FILE SlurmdPidFile (/run/slurmd.pid)
#   --state DIR           StateSaveLocation (/var/lib/slurm/slurmctld)
#   --spool DIR           SlurmdSpoolDir (/var/lib/slurm/slurmd)
#   --ctld-log FILE       SlurmctldLogFile (/var/log/slurm/slurmctld.log)
#   --slurmd-log FILE     SlurmdLogFile (/var/log/slurm/slurmd.log)
# Several slurmd on one machine need their own pid file, spool and log: put
# Slurm's %n (the node name) in --slurmd-pidfile, --spool and --slurmd-log.
#
# vmbatch's choices (the same for every node and caller):
#   - SchedulerParameters=batch_sched_delay=0,sched_min_interval=0: a job
#     starts ~0.1-1 s after sbatch instead of seconds.
#   - SelectType=select/cons_tres, SelectTypeParameters=CR_Core_Memory: memory
#     is a consumable, so vmbatch's `sbatch --mem` packs VMs onto a node by
#     the memory they were given.
#   - SlurmdParameters=config_overrides: a node may claim the CPUs and memory
#     its NodeName line gives it (vmbatch offers more CPUs than cores: lab and
#     exam VMs mostly idle, memory is the real limit).
#   - ProctrackType=proctrack/pgid, TaskPlugin=task/none: no cgroup setup.
#     scancel's SIGTERM goes to the job's process group only; with
#     proctrack/linuxproc (or cgroup) every process of the job gets it,
#     qemu included, which then exits at once instead of the guest seeing
#     an ACPI power button. (`scancel --batch --signal=TERM JOB` signals only
#     vmbatch-starter whatever the plugin.)
#   - KillWait=10: after SIGTERM, vmbatch-starter powers the guest off and
#     exits within 5 s, before Slurm sends SIGKILL.
#   - JobRequeue=0: a VM job is never silently restarted.
#   - ReturnToService=2: a node that was down takes jobs again once its
#     slurmd registers with a valid configuration.
#   - munge authentication, no accounting, no job completion log, no MPI.
#
# Exit status: 0 printed, 2 usage.
set -euo pipefail
die() { echo "slurm-conf: $*" >&2; exit 2; }

comments=() nodes=()
cluster=vmbatch ctld='' ctld_addr='' partition=vms
ctld_pidfile=/run/slurmctld.pid slurmd_pidfile=/run/slurmd.pid
state=/var/lib/slurm/slurmctld spool=/var/lib/slurm/slurmd
ctld_log=/var/log/slurm/slurmctld.log slurmd_log=/var/log/slurm/slurmd.log
while [ $# -gt 0 ]; do
  opt=$1
  case "$opt" in
    --*=*) set -- "${opt%%=*}" "${opt#*=}" "${@:2}"; continue ;;
    -h | --help) sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) [ $# -ge 2 ] || die "$opt needs a value" ;;
    *) die "unexpected argument '$opt' (see --help)" ;;
  esac
  val=$2
  shift 2
  case "$opt" in
    --comment) comments+=("$val") ;;
    --cluster) cluster=$val ;;
    --ctld) ctld=$val ;;
    --ctld-addr) ctld_addr=$val ;;
    --node) nodes+=("$val") ;;
    --partition) partition=$val ;;
    --ctld-pidfile) ctld_pidfile=$val ;;
    --slurmd-pidfile) slurmd_pidfile=$val ;;
    --state) state=$val ;;
    --spool) spool=$val ;;
    --ctld-log) ctld_log=$val ;;
    --slurmd-log) slurmd_log=$val ;;
    *) die "unknown option $opt (see --help)" ;;
  esac
done
[ -n "$ctld" ] || die "--ctld NAME is required"
[ ${#nodes[@]} -gt 0 ] || die "at least one --node NAME,ADDR,CPUS,MEM_MIB is required"
for v in "$cluster" "$ctld" "$ctld_addr" "$partition" "$ctld_pidfile" "$slurmd_pidfile" \
  "$state" "$spool" "$ctld_log" "$slurmd_log" "${comments[@]}" "${nodes[@]}"; do
  case "$v" in *$'\n'*) die "a value holds a newline" ;; esac
done
for v in "$cluster" "$ctld" "$ctld_addr" "$partition" "$ctld_pidfile" "$slurmd_pidfile" \
  "$state" "$spool" "$ctld_log" "$slurmd_log"; do
  case "$v" in *[[:space:]]*) die "'$v': no white space in names, addresses and paths" ;; esac
done

node_lines=() names=()
for n in "${nodes[@]}"; do
  IFS=, read -r name addr cpus mem extra <<<"$n"
  if [ -z "$name" ] || [ -z "$addr" ] || [ -n "$extra" ] || [[ ! $cpus =~ ^[1-9][0-9]*$ ]] ||
    [[ ! $mem =~ ^[1-9][0-9]*$ ]] || [[ $name$addr =~ [[:space:]] ]]; then
    die "--node '$n': want NAME,ADDR,CPUS,MEM_MIB (CPUs and MiB positive integers)"
  fi
  node_lines+=("NodeName=$name NodeAddr=$addr CPUs=$cpus RealMemory=$mem State=UNKNOWN")
  names+=("$name")
done

for c in "${comments[@]}"; do printf '# %s\n' "$c"; done
cat <<EOF
ClusterName=$cluster
SlurmctldHost=$ctld${ctld_addr:+($ctld_addr)}
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=0
KillWait=10
InactiveLimit=0
MinJobAge=300
SlurmctldPidFile=$ctld_pidfile
SlurmdPidFile=$slurmd_pidfile
StateSaveLocation=$state
SlurmdSpoolDir=$spool
SlurmctldLogFile=$ctld_log
SlurmdLogFile=$slurmd_log
EOF
printf '%s\n' "${node_lines[@]}"
printf 'PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO\n' \
  "$partition" "$(IFS=,; echo "${names[*]}")"

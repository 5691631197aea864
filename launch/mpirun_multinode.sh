#!/bin/bash
# Several nodes with plain Open MPI (no Slurm):
#   launch/mpirun_multinode.sh [options] HOSTFILE CONFIG [encdec_tp flags]   serve
#   launch/mpirun_multinode.sh [options] --check HOSTFILE [CONFIG]           check, then exit
# Starts one rank per slot of the hostfile (the config's tp must equal the total), ranks filled
# node by node so that consecutive TP ranks share a node. The binary, config and model must exist
# at the same path on every node (a shared filesystem, or the same copy on each).
# Options (the MCA settings a cluster needs; tests/mpi/netns_*.sh run them across two hosts):
#   --net NET      the network between the nodes: an interface name (eth1; several: eth1,eth2) or
#                  a CIDR (10.1.0.0/16). Sets btl_tcp_if_include and oob_tcp_if_include (MPI's
#                  data and Open MPI's own daemons) and, for interface names, NCCL_SOCKET_IFNAME.
#                  Without it Open MPI and NCCL try every interface (docker0, virbr0, ...), and a
#                  job can hang on one that does not route between the nodes.
#   --tcp          a TCP-only cluster (Ethernet, no InfiniBand / RoCE): MPI's ob1 PML over the
#                  tcp BTL (vader within a node), and NCCL_IB_DISABLE=1 so NCCL uses its sockets.
#   --btl LIST     the BTL list (implies ob1), e.g. tcp,self: TCP within a node too.
#   --agent CMD    how Open MPI starts its daemon on the other nodes (plm_rsh_agent; default ssh,
#                  which must log in without a password).
#   --keepalive S  Open MPI's daemons probe an idle TCP link after S seconds (default 10; 0 =
#                  Open MPI's own 300 s), so a node gone silent is noticed in about S + 10 s
#                  rather than 8 minutes. A link holding unacknowledged data is given up only
#                  after the kernel's net.ipv4.tcp_retries2 (README, "Several nodes over TCP").
#   --bin PATH     encdec_tp (default: ENCDEC_BIN, else build/encdec_tp next to this folder);
#                  --check runs encdec_hostcheck from the same folder.
#   --mca KEY VAL  any other Open MPI setting (repeatable).
#   --check        instead of serving: every slot checks it can read encdec_tp, encdec_hostcheck
#                  (and CONFIG, if given), then encdec_hostcheck: every pair of ranks exchanges
#                  1 MiB with the settings above and one all-reduce is checked; each step is
#                  bounded by ENCDEC_CHECK_TIMEOUT (60 s). Prints the hosts and their ranks;
#                  exit 0 = ready.
#   --dry-run      print the mpirun command instead of running it.
# Environment passed to every rank: ENCDEC_LOG, LD_LIBRARY_PATH, NCCL_* set here or by the caller.
set -euo pipefail
usage() {
  sed -n '2,4p' "$0" | sed 's/^# *//' >&2
  exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
bin=${ENCDEC_BIN:-$here/../build/encdec_tp}
net='' tcp=0 btl='' agent='' keepalive=10 check=0 dry=0 mca=()
while [ $# -gt 0 ]; do
  case $1 in
    --net) net=${2:?--net needs a value}; shift 2 ;;
    --tcp) tcp=1; shift ;;
    --btl) btl=${2:?--btl needs a value}; shift 2 ;;
    --agent) agent=${2:?--agent needs a value}; shift 2 ;;
    --keepalive) keepalive=${2:?--keepalive needs a value}; shift 2 ;;
    --bin) bin=${2:?--bin needs a value}; shift 2 ;;
    --mca) mca+=(--mca "${2:?--mca needs KEY VALUE}" "${3:?--mca needs KEY VALUE}"); shift 3 ;;
    --check) check=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    -*) echo "mpirun_multinode.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
hostfile=$1
shift
config=
if [ $# -ge 1 ]; then config=$1; shift; fi
[ $check = 1 ] || [ -n "$config" ] || usage
[ -r "$hostfile" ] || { echo "mpirun_multinode.sh: cannot read hostfile $hostfile" >&2; exit 2; }
case $keepalive in ''|*[!0-9]*) echo "mpirun_multinode.sh: --keepalive wants whole seconds" >&2; exit 2 ;; esac

# Slots: every node line must say slots=N (without it Open MPI counts the node's cores).
ranks=$(awk '
  { sub(/#.*/, "") } !NF { next }
  { n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^slots=[0-9]+$/) { split($i, a, "="); n = a[2] } }
  n < 1 { printf "mpirun_multinode.sh: %s line %d (%s): no slots=N\n", FILENAME, NR, $1 > "/dev/stderr"; bad = 1 }
  { total += n } END { if (bad) exit 1; print total + 0 }' "$hostfile") || exit 2
[ "$ranks" -gt 0 ] || { echo "mpirun_multinode.sh: $hostfile names no node" >&2; exit 2; }

args=(--hostfile "$hostfile" -n "$ranks" --map-by slot --bind-to none)
if [ -n "$btl" ] || [ $tcp = 1 ]; then
  args+=(--mca pml ob1 --mca btl "${btl:-tcp,vader,self}")
fi
if [ -n "$net" ]; then
  args+=(--mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net")
  # NCCL takes interface names only (a CIDR cannot name one on every node): set it yourself then.
  case $net in
    */*) ;;
    *) export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-$net} ;;
  esac
fi
[ -n "$agent" ] && args+=(--mca plm_rsh_agent "$agent")
if [ "$keepalive" -gt 0 ]; then
  args+=(--mca oob_tcp_keepalive_time "$keepalive" --mca oob_tcp_keepalive_intvl 2
         --mca oob_tcp_keepalive_probes 5)
fi
[ $tcp = 1 ] && export NCCL_IB_DISABLE=${NCCL_IB_DISABLE:-1}
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0} # keep NVLink multicast off on shared hosts
for v in $(compgen -e | grep -E '^(NCCL_|ENCDEC_LOG$|LD_LIBRARY_PATH$)' || true); do
  args+=(-x "$v")
done
args+=("${mca[@]}")

run() {
  if [ $dry = 1 ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

if [ $check = 0 ]; then
  if [ $dry = 1 ]; then run mpirun "${args[@]}" "$bin" --config "$config" "$@"; exit 0; fi
  exec mpirun "${args[@]}" "$bin" --config "$config" "$@"
fi

# --check: each step bounded, so a node that cannot be reached fails the check instead of hanging.
limit=${ENCDEC_CHECK_TIMEOUT:-60}
hostcheck=$(dirname "$bin")/encdec_hostcheck
echo "mpirun_multinode.sh --check: $ranks slots in $hostfile"
files=("$bin" "$hostcheck")
[ -n "$config" ] && files+=("$config")
# shellcheck disable=SC2016 # expanded by the shell on each node
run timeout "$limit" mpirun "${args[@]}" sh -c \
  'for f; do [ -r "$f" ] || { echo "$(hostname): cannot read $f" >&2; exit 1; }; done' check "${files[@]}" ||
  { echo "mpirun_multinode.sh --check: FAILED: a node could not be started or lacks a file above" >&2; exit 1; }
run timeout "$limit" mpirun "${args[@]}" "$hostcheck" --timeout "$((limit / 2 > 0 ? limit / 2 : 1))" ||
  { echo "mpirun_multinode.sh --check: FAILED: the ranks cannot all reach each other (above)" >&2; exit 1; }
echo "mpirun_multinode.sh --check: ready"

#!/bin/bash
# Several nodes with plain Open MPI (no Slurm):
#   launch/mpirun_multinode.sh HOSTFILE CONFIG [extra encdec_tp flags]
# Starts one rank per slot of the hostfile (tp in CONFIG must equal the total), ranks filled
# node by node so that consecutive TP ranks share a node. The binary and model path must exist
# at the same place on every node (shared filesystem).
set -euo pipefail
hostfile=${1:?usage: mpirun_multinode.sh HOSTFILE CONFIG [flags]}
config=${2:?usage: mpirun_multinode.sh HOSTFILE CONFIG [flags]}
shift 2
ranks=$(awk '!/^#/ && NF { for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) { split($i, a, "="); n += a[2] } } END { print n }' "$hostfile")
exec mpirun --hostfile "$hostfile" -n "$ranks" --map-by slot --bind-to none \
  -x NCCL_NVLS_ENABLE=0 -x ENCDEC_LOG -x LD_LIBRARY_PATH \
  "$(dirname "$0")/../build/encdec_tp" --config "$config" "$@"

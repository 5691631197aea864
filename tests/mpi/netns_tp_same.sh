#!/bin/bash
# Several nodes for real: two hosts made of network namespaces (tests/mpi/netns_lib.sh), the
# project's launcher (launch/mpirun_multinode.sh) with a hostfile naming both, Open MPI's TCP
# transport only (btl tcp,self on the hosts' private link), the remote side started by
# launch/netns_agent.sh instead of ssh.
#   1. `mpirun_multinode.sh --check` passes and names both hosts; on a hostfile naming a third
#      host that does not exist it fails, naming that host; with MPI's data on loopback
#      (btl_tcp_if_include lo: a job would hang) it fails within its bound, naming a pair.
#   2. For each FIXTURE: served at TP=1 (one process, no network), then across the two hosts at
#      TP=2 (one rank a host) and TP=4 (two a host): every request's output ids and finish
#      reason equal TP=1's and its logits are within 1e-5 of TP=1's (golden_check), and within
#      1e-4 of Hugging Face's (the fixture's expected.jsonl).
#   3. The link carried the jobs (its byte counters grew by their traffic) and nothing is left
#      running on either host.
# usage: netns_tp_same.sh BUILD_DIR FIXTURES_DIR FIXTURE... | all  (CTest: two, for time)
set -uo pipefail
build=$1 fixtures=$2
shift 2
if [ "$*" = all ]; then mapfile -t every < <(ls "$fixtures"); set -- "${every[@]}"; fi
name=netns_tp_same
source "$(dirname "$0")/../test_lib.sh"
source "$(dirname "$0")/../golden/golden_lib.sh"
source "$(dirname "$0")/netns_lib.sh"
netns_up
link_bytes() { ip -n "$ns_a" -s -j link show link0 | grep -o '"tx":{"bytes":[0-9]*' | grep -o '[0-9]*$'; }

netns_hostfile 2
checks=$((checks + 1))
if netns_launch --check "$work/hostfile" > "$work/check.log" 2>&1; then
  grep -q "ranks: $host_a (ranks 0 1) $host_b (ranks 2 3); 2 hosts;" "$work/check.log" ||
    fail "--check passed without naming both hosts: $(cat "$work/check.log")"
else
  fail "--check failed on the two hosts: $(cat "$work/check.log")"
fi
checks=$((checks + 1))
cp "$work/hostfile" "$work/hostfile.good"
echo "10.77.0.3 slots=1" >> "$work/hostfile" # no such host: the agent refuses it, as ssh would
if ENCDEC_CHECK_TIMEOUT=20 netns_launch --check "$work/hostfile" > "$work/check.log" 2>&1; then
  fail "--check passed on a hostfile naming a host that does not exist"
else
  grep -q "10.77.0.3" "$work/check.log" || fail "--check failed without naming 10.77.0.3:
$(cat "$work/check.log")"
fi
checks=$((checks + 1))
# MPI's data sent to each host's loopback (the daemons still on the link): every rank waits for
# its peers forever, as a job with the wrong interface would; --check must fail, naming a pair.
cp "$work/hostfile.good" "$work/hostfile"
if ENCDEC_CHECK_TIMEOUT=4 as_host_a "$launcher/mpirun_multinode.sh" --check --btl tcp,self \
    --agent "$launcher/netns_agent.sh" --mca oob_tcp_if_include "$net" --mca btl_tcp_if_include lo \
    --bin "$build/encdec_tp" "$work/hostfile" > "$work/check.log" 2>&1; then
  fail "--check passed with MPI's data on loopback"
else
  grep -qE "encdec_hostcheck: rank [0-3] on encdec-$$-[ab]: got nothing from rank [0-3] within 2 s" \
    "$work/check.log" || fail "--check on loopback failed without naming the pair:
$(cat "$work/check.log")"
fi

bytes_before=$(link_bytes) # from here on, only encdec_tp's traffic
for fixture in "$@"; do
  fx=$fixtures/$fixture
  "$build/encdec_convert" --quiet --hf "$fx" --out "$work/$fixture.h5" || exit 1
  golden_config "$work/$fixture.h5" cpu fp32 1 > "$work/tp1.yaml"
  "$build/encdec_tp" --config "$work/tp1.yaml" --requests "$fx/requests.jsonl" \
    --output "$work/$fixture.tp1.jsonl" || { fail "$fixture: TP=1 failed"; continue; }
  for tp in 2 4; do
    netns_hostfile $((tp / 2))
    golden_config "$work/$fixture.h5" cpu fp32 $tp > "$work/tp$tp.yaml"
    out=$work/$fixture.tp$tp.jsonl
    checks=$((checks + 1))
    if ! netns_launch "$work/hostfile" "$work/tp$tp.yaml" \
        --requests "$fx/requests.jsonl" --output "$out" > "$work/log" 2>&1; then
      fail "$fixture: TP=$tp across the two hosts failed:"; cat "$work/log"; continue
    fi
    checks=$((checks + 1))
    "$build/golden_check" "$work/$fixture.tp1.jsonl" "$out" --tol 1e-5 > "$work/cmp" 2>&1 ||
      fail "$fixture: TP=$tp across two hosts differs from TP=1: $(cat "$work/cmp")"
    checks=$((checks + 1))
    "$build/golden_check" "$fx/expected.jsonl" "$out" --tol 1e-4 > "$work/cmp" 2>&1 ||
      fail "$fixture: TP=$tp across two hosts differs from Hugging Face: $(cat "$work/cmp")"
    echo "$fixture TP=$tp: $(tail -c 120 "$work/cmp")"
  done
done

checks=$((checks + 1))
bytes=$(( $(link_bytes) - bytes_before ))
[ "$bytes" -gt 100000 ] || fail "only $bytes bytes crossed the link: the ranks did not talk over it"
checks=$((checks + 1))
left="$(netns_procs "$ns_a")$(netns_procs "$ns_b")"
[ -z "$left" ] || fail "processes left on the hosts: $left"
echo "$name: $# fixtures at TP=2 and 4 over two hosts, $bytes bytes over the link; $checks checks, $failures failed"
[ $failures -eq 0 ]

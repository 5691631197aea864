# shellcheck shell=bash
# Two "hosts" on this machine for the multi-node tests (tests/mpi/netns_*.sh): two network
# namespaces joined by a veth pair, each with loopback and one address on the private link
# between them; nothing else is reachable from either, and nothing outside sees them.
# Source after test_lib.sh (it uses work and build). netns_up sets:
#   ns_a, ns_b      the namespaces (named after this test's PID: tests may run side by side)
#   host_a, host_b  their host names (each command run as a host gets its own UTS namespace)
#   ip_a, ip_b      10.77.0.1 and 10.77.0.2 on the link, named link0 on both sides;
#   net             10.77.0.0/24, what the launcher's --net gets
#   ENCDEC_NETNS_HOSTS  exported: how launch/netns_agent.sh maps the hostfile's hosts
# and arranges, on exit (failure included), netns_down: every process still in either namespace
# killed (only this test's: the namespaces are its own), both namespaces deleted (the link goes
# with them), $work removed.
# Where namespaces cannot be made (not root, no iproute2) it says so and exits 77: CTest's
# SKIP_RETURN_CODE for these tests.
#
# TCP in both namespaces gives up on unacknowledged data after ~6 s (net.ipv4.tcp_retries2 = 4,
# a per-namespace setting) instead of ~15 minutes: after a cut link the ranks end within
# watchdog_s by themselves, but Open MPI's daemons notice the dead link only through TCP (the
# README's "Several nodes" gives the same advice for clusters).
netns_skip() {
  echo "SKIP: $*"
  exit 77
}

netns_up() {
  command -v ip >/dev/null || netns_skip "no ip command (Debian package iproute2: launch/install_deps.sh)"
  command -v unshare >/dev/null || netns_skip "no unshare command (util-linux)"
  ns_a=encdec-$$-a ns_b=encdec-$$-b host_a=encdec-$$-a host_b=encdec-$$-b
  ip_a=10.77.0.1 ip_b=10.77.0.2 net=10.77.0.0/24
  trap 'netns_down; rm -rf "$work"' EXIT
  netns_remove_stale
  local why
  why=$(ip netns add "$ns_a" 2>&1) ||
    netns_skip "cannot create a network namespace here (ip netns add: $why); these tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)"
  ip netns add "$ns_b" || exit 1
  # The pair is created with each end already inside its namespace: no name is ever taken in
  # the machine's own namespace.
  ip link add link0 netns "$ns_a" type veth peer name link0 netns "$ns_b" || exit 1
  local ns addr
  for ns in "$ns_a" "$ns_b"; do
    addr=$ip_a
    [ "$ns" = "$ns_b" ] && addr=$ip_b
    ip -n "$ns" addr add "$addr/24" dev link0 &&
      ip -n "$ns" link set lo up && ip -n "$ns" link set link0 up || exit 1
    ip netns exec "$ns" sh -c 'echo 4 > /proc/sys/net/ipv4/tcp_retries2' ||
      { echo "FAIL cannot set net.ipv4.tcp_retries2 in namespace $ns (/proc/sys read-only?)"; exit 1; }
  done
  export ENCDEC_NETNS_HOSTS="$ip_a=$ns_a:$host_a $ip_b=$ns_b:$host_b"
  # Open MPI's session folders (and anything else temporary) inside $work.
  export TMPDIR=$work
}

# netns_procs NS: "PID:NAME" of every process in namespace NS, space-separated ("" when none).
netns_procs() {
  local p out=
  for p in $(ip netns pids "$1" 2>/dev/null); do
    out+="$p:$(cat "/proc/$p/comm" 2>/dev/null) "
  done
  echo "${out% }"
}

# Namespaces an earlier run of these tests left (killed by SIGKILL, e.g. CTest's timeout, before
# its trap ran): encdec-PID-a/b whose PID is gone; their processes are killed, they are deleted.
netns_remove_stale() {
  local ns pid p
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^encdec-[0-9]+-[ab]$'); do
    pid=${ns#encdec-}
    pid=${pid%-?}
    [ -d "/proc/$pid" ] && continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    sleep 0.2
    echo "removing namespace $ns left by an earlier run (process $pid is gone)"
    ip netns del "$ns" 2>/dev/null
  done
}

netns_down() {
  local ns p
  for ns in "${ns_a:-}" "${ns_b:-}"; do
    [ -n "$ns" ] && ip netns list | grep -qw "$ns" || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  for ns in "${ns_a:-}" "${ns_b:-}"; do
    [ -n "$ns" ] && ip netns list | grep -qw "$ns" || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do # the killed ones exit before the namespace can go
      [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
      sleep 0.1
    done
    ip netns del "$ns"
  done
}

# as_host_a CMD...: runs CMD on host A: in its namespace, under its host name (mpirun starts
# there; launch/netns_agent.sh starts the remote side in B the same way), for at most
# $host_limit seconds (default 60; then SIGTERM, status 124).
as_host_a() {
  timeout "${host_limit:-60}" ip netns exec "$ns_a" unshare --uts /bin/sh -c 'hostname "$0" && exec "$@"' "$host_a" "$@"
}

# netns_hostfile SLOTS: $work/hostfile naming both hosts by address, SLOTS ranks each.
netns_hostfile() {
  printf '# two hosts made by tests/mpi/netns_lib.sh\n%s slots=%d\n%s slots=%d\n' \
    "$ip_a" "$1" "$ip_b" "$1" > "$work/hostfile"
}

# netns_launch ARGS...: the project's launcher as the tests run it (on host A): TCP only, both
# within and across hosts (btl tcp,self), on the link's subnet, remote side through
# launch/netns_agent.sh, daemon keep-alives after 2 s.
launcher=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../launch" && pwd)
netns_launch() {
  as_host_a "$launcher/mpirun_multinode.sh" --net "$net" --btl tcp,self \
    --agent "$launcher/netns_agent.sh" --keepalive 2 --bin "$build/encdec_tp" "$@"
}

#!/bin/bash
# A launch agent for Open MPI (`--mca plm_rsh_agent launch/netns_agent.sh`) that starts the
# remote side of a job inside a Linux network namespace instead of over ssh: the "hosts" of a
# hostfile are namespaces on this machine (tests/mpi/netns_lib.sh makes them). Needs root.
#
# Open MPI calls it as ssh:  netns_agent.sh [ssh options] HOST COMMAND...
# and, like ssh, it runs COMMAND (the words joined by spaces, a shell command line such as
# "PATH=...; export PATH; ... orted -mca ...") with /bin/sh on HOST. HOST is looked up in
# ENCDEC_NETNS_HOSTS, whitespace-separated HOST=NAMESPACE[:HOSTNAME] entries, e.g.
#   ENCDEC_NETNS_HOSTS="10.77.0.1=encdec-a:encdec-a 10.77.0.2=encdec-b:encdec-b"
# The command runs in NAMESPACE (`ip netns exec`) and, where HOSTNAME is given, in a UTS
# namespace of its own whose host name is HOSTNAME, so Open MPI sees a node with its own name
# (its session folder and locality follow the name). An unknown HOST is an error naming it:
# nothing ever leaves for a real host.
set -euo pipefail
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do # ssh-style options Open MPI may pass
  case $1 in
    -o|-l|-p|-i|-F) shift 2 ;;
    *) shift ;;
  esac
done
host=${1:?netns_agent.sh: no host given}
shift
[ $# -gt 0 ] || { echo "netns_agent.sh: no command for host $host" >&2; exit 255; }
ns='' name=''
for entry in ${ENCDEC_NETNS_HOSTS:-}; do
  if [ "${entry%%=*}" = "$host" ]; then
    ns=${entry#*=}
    [ "${ns#*:}" != "$ns" ] && name=${ns#*:}
    ns=${ns%%:*}
  fi
done
if [ -z "$ns" ]; then
  echo "netns_agent.sh: host '$host' is not in ENCDEC_NETNS_HOSTS ('${ENCDEC_NETNS_HOSTS:-}')" >&2
  exit 255 # what ssh returns when it cannot reach a host
fi
if [ -n "$name" ]; then
  exec ip netns exec "$ns" unshare --uts /bin/sh -c 'hostname "$1" && exec /bin/sh -c "$2"' \
    netns_agent "$name" "$*"
fi
exec ip netns exec "$ns" /bin/sh -c "$*"

# Starts and stops encdec_tp's HTTP server (docs/SERVING.md) for the tests in tests/http, and
# small curl / metrics helpers. Source it after tests/test_lib.sh (needs build, work, fail).
#   serve_start NAME TP [YAML_LINE...]: $work/NAME.yaml = $work/run.yaml plus `tp`, `http_port`
#     (a free loopback port) and the given lines; starts the server (TP=1: encdec_tp itself;
#     TP=2: mpirun -n 2) in a process group of its own, logs to $work/NAME.log; waits for
#     /health 200 (deadline serve_deadline_s), or with serve_ready=any for its first answer of
#     any status (a warming-up server's 503). Sets port, url, server_pid, server_tp, server_log,
#     and health_code (that answer's status; its body is in $work/NAME.health). A port someone
#     took meanwhile (the server exits saying so) is retried with another. Exits the test if the
#     server does not come up.
#   serve_stop [DEADLINE_S]: serve_signal, then serve_wait.
#   serve_signal: the drain signal (SIGTERM to encdec_tp at TP=1; SIGUSR1 to mpirun, which
#     forwards it to every rank, at TP=2; mpirun answers SIGTERM by killing its ranks).
#   serve_wait [DEADLINE_S]: waits for the exit (default deadline 60 s; then kills the group);
#     fails unless it is 0 (at TP=2 mpirun's status, 0 only when every rank exited 0). Sets
#     server_rc.
#   serve_kill: ends the whole process group at once (cleanup).
# Every server started is ended on exit (trap), so a failed test leaves no process behind.
export ENCDEC_LOG=info # the log's "KV pools at the end" line
serve_deadline_s=${serve_deadline_s:-60}
server_pid="" server_pids=()

serve_cleanup() {
  local p
  for p in "${server_pids[@]}"; do # the group: ranks too, even if mpirun itself is gone
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
  done
  # clients a test left in the background (curl, node, bash /dev/tcp holders) are its jobs
  local j
  for j in $(jobs -p); do kill -KILL "$j" 2>/dev/null; done
  rm -rf "$work"
}
trap serve_cleanup EXIT
trap 'exit 1' INT TERM HUP

# A free loopback TCP port: bind to port 0 and read what the kernel picked (node or python3),
# else a random one in the ephemeral range (serve_start retries a taken one either way).
free_port() {
  if command -v node >/dev/null; then
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
  elif command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

# http_code URL [CURL_ARGS...]: prints the status code (000 when no answer).
http_code() {
  local u=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$u" || true
}

serve_start() {
  local name=$1 tp=$2 try
  shift 2
  server_tp=$tp server_log=$work/$name.log
  for try in 1 2 3 4 5; do
    port=$(free_port)
    url=http://127.0.0.1:$port
    {
      cat "$work/run.yaml"
      echo "tp: $tp"
      echo "http_port: $port"
      local l
      for l in "$@"; do echo "$l"; done
    } > "$work/$name.yaml"
    # setsid (no fork: a background job is not a group leader) makes the server a process
    # group of its own: $! is encdec_tp or mpirun itself, and -$! reaches its ranks too.
    if [ "$tp" = 1 ]; then
      setsid "$build/encdec_tp" --config "$work/$name.yaml" > "$work/$name.out" 2> "$server_log" &
    else
      setsid mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$name.yaml" \
        > "$work/$name.out" 2> "$server_log" &
    fi
    server_pid=$!
    server_pids+=("$server_pid")
    local t0=$SECONDS
    while :; do
      health_code=$(curl -s -o "$work/$name.health" -w '%{http_code}' --max-time 5 "$url/health" ||
                    true)
      if [ "$health_code" = 200 ] ||
         { [ "${serve_ready:-200}" = any ] && [ "$health_code" != 000 ]; }; then
        return 0
      fi
      if ! kill -0 "$server_pid" 2>/dev/null; then
        wait "$server_pid" 2>/dev/null
        if grep -qi 'in use\|bind' "$server_log"; then
          echo "serve_start: port $port taken ($(grep -i -m1 'in use\|bind' "$server_log")); another"
          continue 2
        fi
        fail "$name: the server exited before /health answered 200:"
        tail -20 "$server_log"
        exit 1
      fi
      if [ $((SECONDS - t0)) -ge "$serve_deadline_s" ]; then
        fail "$name: /health did not answer 200 within $serve_deadline_s s"
        tail -20 "$server_log"
        exit 1
      fi
      sleep 0.1
    done
  done
  fail "$name: no free port after 5 tries"
  exit 1
}

serve_signal() { # the drain signal
  if [ "$server_tp" = 1 ]; then
    kill -TERM "$server_pid"
  else
    kill -USR1 "$server_pid"
  fi
}

serve_wait() { # serve_wait [DEADLINE_S]: the exit after a drain signal, checked
  local deadline=${1:-60} t0=$SECONDS
  while kill -0 "$server_pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$deadline" ]; then
      fail "the server did not exit within $deadline s of the drain signal"
      serve_kill
      break
    fi
    sleep 0.1
  done
  wait "$server_pid"
  server_rc=$?
  checks=$((checks + 1))
  if [ "$server_rc" != 0 ]; then
    fail "the server exited with status $server_rc after draining:"
    # a sanitizer's report (its first leak or error, with the stack), else the log's end
    if grep -q '^==[0-9]*==ERROR\|^SUMMARY: ' "$server_log"; then
      grep -m1 -A24 '^Direct leak\|^Indirect leak\|^==[0-9]*==ERROR: AddressSanitizer' "$server_log"
      grep '^SUMMARY: ' "$server_log"
    else
      tail -5 "$server_log"
    fi
  fi
}

serve_stop() {
  serve_signal
  serve_wait "$@"
}

serve_kill() {
  kill -KILL -- "-$server_pid" 2>/dev/null
}

# metric NAME_WITH_LABELS: the value of one sample of the current /metrics (empty when absent).
metric() {
  curl -s --max-time 5 "$url/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}

# wait_metric NAME N DEADLINE_S: polls /metrics until sample NAME is at least N.
wait_metric() {
  local t0=$SECONDS
  until curl -s --max-time 5 "$url/metrics" | awk -v n="$1" -v v="$2" '$1 == n && $2 >= v { ok = 1 } END { exit !ok }'; do
    [ $((SECONDS - t0)) -lt "$3" ] || return 1
    sleep 0.02
  done
}

# wait_jobs: waits for the test's background jobs except the server.
wait_jobs() {
  local j js=()
  for j in $(jobs -p); do [ "$j" = "$server_pid" ] || js+=("$j"); done
  [ ${#js[@]} -eq 0 ] || wait "${js[@]}"
}

# pools_idle: 0 when /metrics says nothing runs or waits and no KV block is in use in either pool
# (the encoder cache's idle blocks, kept for repeated inputs, count as free: admission reclaims
# them; encdec_encoder_cache_blocks reports them).
pools_idle() {
  local m
  m=$(curl -s --max-time 5 "$url/metrics") || return 1
  awk '$1 == "encdec_kv_self_blocks_used" { self = $2; seen++ }
       $1 == "encdec_kv_cross_blocks_used" { cross = $2; seen++ }
       $1 == "encdec_requests_running" || $1 == "encdec_requests_waiting" { busy += $2 }
       END { exit !(seen == 2 && self == 0 && cross == 0 && busy == 0) }' <<< "$m"
}

# wait_pools_idle DEADLINE_S: polls pools_idle until it holds; 1 if it never does.
wait_pools_idle() {
  local t0=$SECONDS
  until pools_idle; do
    [ $((SECONDS - t0)) -lt "$1" ] || return 1
    sleep 0.05
  done
}

# pool_totals_match: /metrics' pool sizes are the log's "KV pools per rank" counts.
pool_totals_match() {
  local self cross m
  self=$(sed -n 's/.*KV pools per rank.*: self \([0-9]*\) blocks.*/\1/p' "$server_log" | head -1)
  cross=$(sed -n 's/.*KV pools per rank.*; cross \([0-9]*\) blocks.*/\1/p' "$server_log" | head -1)
  m=$(curl -s --max-time 5 "$url/metrics")
  [ -n "$self" ] && [ -n "$cross" ] &&
    awk -v s="$self" -v c="$cross" '$1 == "encdec_kv_self_blocks_total" && $2 == s { n++ }
      $1 == "encdec_kv_cross_blocks_total" && $2 == c { n++ } END { exit n != 2 }' <<< "$m"
}

# pools_end_free LOG: 0 when the log's "KV pools at the end" line has every block free.
pools_end_free() {
  grep -q 'KV pools at the end: self \([0-9]*\)/\1 blocks free, cross \([0-9]*\)/\2 free' "$1"
}

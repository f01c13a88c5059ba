#!/usr/bin/env bash
# A Khutwa cluster on one machine, the shape of production (docs/deployment.md), as throwaway
# processes on loopback ports from CLUSTER_BASE_PORT (default 18400):
#
#   base+0  HAProxy (round robin over the two nodes, health check on /healthz)  <- the URL
#   base+1  PostgreSQL 15 primary          base+2  streaming replica (pg_basebackup -R)
#   base+3  PgBouncer (transaction mode) -> primary
#   base+4  PgBouncer (transaction mode) -> replica
#   base+5  Redis (cache: rate limits, sessions' cache)
#   base+6  Khutwa node 1 (gunicorn, 2 workers)   base+7  Khutwa node 2
#   and two task workers, one scheduler and one log sequencer (no port).
#
#   scripts/cluster.sh up       start everything (migrate and demo data on the first start)
#   scripts/cluster.sh status   each process: pid, alive, port; replication
#   scripts/cluster.sh down     stop everything (the data stays for the next `up`)
#   scripts/cluster.sh purge    down, then delete the data
#   scripts/cluster.sh env      the environment of a node (for `khutwa` commands against the cluster)
#   scripts/cluster.sh start|stop|kill NAME   one component (primary, replica, pgbouncer,
#                               pgbouncer-replica, redis, node1, node2, worker1, worker2,
#                               scheduler, sequencer, haproxy); kill is SIGKILL to its process group
#
# State under var/cluster/ (and PostgreSQL's, owned by the postgres user, in CLUSTER_PG_DIR,
# default /tmp/khutwa-cluster-<base port>: var/ is not readable by other users). Runs as root
# (PostgreSQL and PgBouncer then run as the postgres user) or as an ordinary user.
# Variables passed to the nodes when set: KHUTWA_PUBLIC_RATE and the other rate limits,
# CLUSTER_WORKERS (gunicorn workers per node, 2), CLUSTER_NODES_ONLY_ONE=1 (HAProxy sends
# everything to node 1; the load test's one-node run).
set -Eeuo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${CLUSTER_BASE_PORT:-18400}
DIR=$ROOT/var/cluster
RUN=$DIR/run
LOG=$DIR/log
# PostgreSQL's data (owned by the postgres user, so outside var/): one folder per checkout and
# base port, so that two checkouts never share a database whose keys live in the other's var/.
PGDIR=${CLUSTER_PG_DIR:-/tmp/khutwa-cluster-$(printf '%s' "$ROOT" | sha256sum | cut -c1-10)-$BASE}
BIN=$ROOT/.venv/bin
PGBIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PGBIN/pg_basebackup" ]; then PGBIN=$(dirname "$(command -v pg_basebackup)"); fi
WORKERS=${CLUSTER_WORKERS:-2}

P_HAPROXY=$BASE
P_PRIMARY=$((BASE + 1))
P_REPLICA=$((BASE + 2))
P_BOUNCER=$((BASE + 3))
P_BOUNCER_R=$((BASE + 4))
P_REDIS=$((BASE + 5))
P_NODE1=$((BASE + 6))
P_NODE2=$((BASE + 7))
URL="http://127.0.0.1:$P_HAPROXY"

as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
fi

say() { printf 'cluster: %s\n' "$*"; }

node_env() {
  # The environment every Khutwa process of the cluster shares: fixed at `up` (a component
  # started again later gets the same, rate limits included).
  if [ -f "$DIR/node.env" ]; then
    cat "$DIR/node.env"
  else
    node_env_fresh
  fi
}

node_env_fresh() {
  cat <<EOF
DATABASE_URL=postgres://postgres@127.0.0.1:$P_BOUNCER/khutwa
DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:$P_BOUNCER_R/khutwa
DB_DISABLE_SERVER_SIDE_CURSORS=true
DB_CONN_MAX_AGE=${DB_CONN_MAX_AGE:-60}
KHUTWA_REDIS_URL=redis://127.0.0.1:$P_REDIS/0
KHUTWA_VAR_DIR=$DIR/var
KHUTWA_SITE_URL=$URL
KHUTWA_NUM_PROXIES=1
KHUTWA_TASKS_BACKEND=database
EOF
  local name
  for name in KHUTWA_PUBLIC_RATE KHUTWA_TRACK_RATE KHUTWA_TRACK_REFERENCE_RATE KHUTWA_PDF_CHECK_RATE \
    KHUTWA_LOCKOUT_IP_FAILURES KHUTWA_DEMO_PASSWORD KHUTWA_REPLICA_PIN_SECONDS KHUTWA_REPLICA_RETRY_SECONDS \
    KHUTWA_TASK_STALL_SECONDS KHUTWA_WORKER_INTERVAL LOG_LEVEL; do
    if [ -n "${!name:-}" ]; then
      echo "$name=${!name}"
    fi
  done
}

with_env() {
  # Run a command with the nodes' environment.
  local -a vars
  mapfile -t vars < <(node_env)
  env "${vars[@]}" DJANGO_SETTINGS_MODULE=khutwa.config.settings "$@"
}

port_free() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the servers: TIME_WAIT is free
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

wait_port() {
  # wait_port PORT SECONDS NAME
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if ! port_free "$1"; then return 0; fi
    sleep 0.1
  done
  say "$3 did not open port $1 in $2 s (logs: $LOG)"
  return 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# PostgreSQL -------------------------------------------------------------------------------

pg_opts() {
  # A throwaway cluster on a shared 2-core machine: no fsync, small memory. Calls of PL/pgSQL
  # functions are counted (the public verdict's, tests/cluster).
  echo "-c listen_addresses=127.0.0.1 -p $1 -k $PGDIR -c fsync=off -c full_page_writes=off \
-c max_connections=80 -c shared_buffers=64MB -c timezone=UTC -c hot_standby_feedback=on -c wal_keep_size=256MB \
-c track_functions=pl"
}

pg_start() {
  # pg_start NAME PORT
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/$1" -l "$PGDIR/$1.log" -w -t 60 -o "$(pg_opts "$2")" start >/dev/null
}

pg_stop() {
  if [ -f "$PGDIR/$1/postmaster.pid" ]; then
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/$1" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/$1" -m immediate stop >/dev/null 2>&1 || true
  fi
}

pg_pid() { head -1 "$PGDIR/$1/postmaster.pid" 2>/dev/null || true; }

databases_up() {
  mkdir -p "$PGDIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDIR"; fi
  chmod 700 "$PGDIR"
  FRESH=0
  if [ ! -f "$PGDIR/primary/PG_VERSION" ]; then
    FRESH=1
    say "initdb (primary)"
    "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDIR/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  pg_start primary "$P_PRIMARY"
  if [ "$FRESH" = 1 ]; then
    "${as_pg[@]}" psql -h 127.0.0.1 -p "$P_PRIMARY" -U postgres -q -c "CREATE DATABASE khutwa" postgres
  fi
  if [ ! -f "$PGDIR/replica/PG_VERSION" ]; then
    say "pg_basebackup (replica)"
    "${as_pg[@]}" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P_PRIMARY" -U postgres -D "$PGDIR/replica" -R -X stream -c fast
  fi
  pg_start replica "$P_REPLICA"
}

# PgBouncer ----------------------------------------------------------------------------------

bouncer_up() {
  # bouncer_up NAME LISTEN_PORT SERVER_PORT [QUERY_WAIT_TIMEOUT]: a client waits at most that
  # long for a server (the replica's: 1 s, then the node reads from the primary instead).
  cat >"$PGDIR/$1.ini" <<EOF
[databases]
khutwa = host=127.0.0.1 port=$3 dbname=khutwa user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 20
max_client_conn = 400
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
admin_users = postgres
stats_period = 1
server_login_retry = 1
query_wait_timeout = ${4:-120}
pidfile = $PGDIR/$1.pid
logfile = $PGDIR/$1.log
EOF
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDIR/$1.ini"; fi
  "${as_pg[@]}" pgbouncer -d -q "$PGDIR/$1.ini"
}

bouncer_stop() {
  local pid
  pid=$(cat "$PGDIR/$1.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    stop_wait "$pid" "$1"
  fi
}

# Our own processes ----------------------------------------------------------------------------

stop_wait() {
  # stop_wait PID NAME: wait up to 15 s, then SIGKILL (its process group when it leads one).
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  say "$2 ($1) did not stop: killing it"
  kill -KILL -- "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null || true
}

stop_pidfile() {
  # stop_pidfile FILE NAME: SIGTERM to the process group it leads (gunicorn and its workers).
  if alive "$1"; then
    local pid
    pid=$(cat "$1")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    stop_wait "$pid" "$2"
    kill -KILL -- "-$pid" 2>/dev/null || true # any child left in its group
  fi
  rm -f "$1"
}

spawn() {
  # spawn NAME COMMAND...: in its own session (process group), logging to $LOG/NAME.log.
  # `env` and `setsid` exec in place (a background child leads no group), so $! is the process
  # itself, which leads its own session and process group: `down` stops the whole group.
  local name=$1
  shift
  local -a vars
  mapfile -t vars < <(node_env)
  env "${vars[@]}" DJANGO_SETTINGS_MODULE=khutwa.config.settings setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

node_up() {
  # node_up NAME PORT
  spawn "$1" "$BIN/gunicorn" khutwa.config.wsgi:application -c python:khutwa.config.gunicorn \
    --bind "127.0.0.1:$2" --workers "$WORKERS" --name "khutwa-$1" --forwarded-allow-ips 127.0.0.1 \
    --graceful-timeout 5 --timeout 60
}

scheduler_cmd() {
  if "$BIN/khutwa" help 2>/dev/null | grep -qw scheduler; then
    echo scheduler
  fi
}

worker_cmd() {
  # The words of the task worker's command, one a line.
  if "$BIN/khutwa" help 2>/dev/null | grep -qw worker; then
    echo worker
  else
    printf '%s\n' db_worker --queue-name '*' --no-reload
  fi
}

redis_up() {
  # No persistence: a restarted Redis starts empty (rate limits reset; sessions are in the
  # database too, cached_db).
  redis-server --bind 127.0.0.1 --port "$P_REDIS" --daemonize yes --pidfile "$RUN/redis.pid" \
    --logfile "$LOG/redis.log" --dir "$DIR" --save "" --appendonly no >/dev/null
  wait_port "$P_REDIS" 10 redis
}

redis_stop() {
  if alive "$RUN/redis.pid"; then
    local pid
    pid=$(cat "$RUN/redis.pid")
    kill -TERM "$pid" 2>/dev/null || true
    stop_wait "$pid" redis
  fi
  rm -f "$RUN/redis.pid"
}

worker_up() {
  # The worker's id is its name: a task's worker_ids say which process ran it.
  local -a worker
  mapfile -t worker < <(worker_cmd)
  spawn "$1" "$BIN/khutwa" "${worker[@]}" --worker-id "$1"
}

scheduler_up() {
  local scheduler
  scheduler=$(scheduler_cmd)
  if [ -n "$scheduler" ]; then
    spawn scheduler "$BIN/khutwa" "$scheduler"
  else
    say "no 'khutwa scheduler' command in this tree yet: no scheduler started"
  fi
}

sequencer_up() {
  # One sequencer beside the workers: it moves committed documents and licence events into the
  # public log every second (a second one would only wait for the first's lock).
  spawn sequencer "$BIN/khutwa" log-sequencer
}

haproxy_up() {
  local backup=""
  if [ "${CLUSTER_NODES_ONLY_ONE:-0}" = 1 ]; then backup=" disabled"; fi
  cat >"$DIR/haproxy.cfg" <<EOF
global
  daemon
  pidfile $RUN/haproxy.pid
  stats socket $RUN/haproxy.sock mode 600 level admin
  maxconn 4000
defaults
  mode http
  option forwardfor
  option redispatch
  retries 2
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout queue 30s
frontend khutwa
  bind 127.0.0.1:$P_HAPROXY
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk
  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
  # As many requests per node as it has sync workers; the rest wait in HAProxy's queue, so
  # that a busy node still answers its health check (else HAProxy takes it out under load).
  timeout check 5s
  default-server check inter 1s fall 3 rise 2 maxconn $WORKERS
  server node1 127.0.0.1:$P_NODE1
  server node2 127.0.0.1:$P_NODE2$backup
EOF
  haproxy -f "$DIR/haproxy.cfg" -q
}

cmd_up() {
  if alive "$RUN/haproxy.pid"; then
    say "already up at $URL (scripts/cluster.sh down first)"
    return 0
  fi
  for port in "$P_HAPROXY" "$P_PRIMARY" "$P_REPLICA" "$P_BOUNCER" "$P_BOUNCER_R" "$P_REDIS" "$P_NODE1" "$P_NODE2"; do
    if ! port_free "$port"; then
      say "port $port is taken: set CLUSTER_BASE_PORT to another base, or scripts/cluster.sh down"
      exit 1
    fi
  done
  mkdir -p "$RUN" "$LOG" "$DIR/var"
  chmod 750 "$DIR"
  node_env_fresh >"$DIR/node.env"
  trap 'say "start-up failed: stopping what started"; cmd_down >/dev/null 2>&1 || true' ERR
  databases_up
  say "PostgreSQL primary :$P_PRIMARY, replica :$P_REPLICA"
  bouncer_up pgbouncer "$P_BOUNCER" "$P_PRIMARY"
  bouncer_up pgbouncer-replica "$P_BOUNCER_R" "$P_REPLICA" 1
  wait_port "$P_BOUNCER" 10 pgbouncer
  wait_port "$P_BOUNCER_R" 10 pgbouncer-replica
  say "PgBouncer (transaction mode) :$P_BOUNCER -> primary, :$P_BOUNCER_R -> replica"
  redis_up
  say "Redis :$P_REDIS"
  if [ "$FRESH" = 1 ] || [ ! -f "$DIR/var/.demo-loaded" ]; then
    say "migrate and demo data (first start)"
    with_env "$BIN/khutwa" migrate --noinput -v0
    with_env "$BIN/khutwa" createcachetable
    with_env "$BIN/khutwa" demo >"$LOG/demo.log"
    touch "$DIR/var/.demo-loaded"
  else
    with_env "$BIN/khutwa" migrate --noinput -v0
  fi
  with_env "$BIN/khutwa" collectstatic --noinput -v0
  node_up node1 "$P_NODE1"
  node_up node2 "$P_NODE2"
  worker_up worker1
  worker_up worker2
  scheduler_up
  sequencer_up
  wait_port "$P_NODE1" 60 node1
  wait_port "$P_NODE2" 60 node2
  haproxy_up
  local i
  # gunicorn's workers load the application after the port opens: on a busy machine that can
  # take minutes, hence the long wait.
  for ((i = 0; i < 900; i++)); do
    if python3 -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('$URL/healthz', timeout=2).status == 200 else 1)" 2>/dev/null; then
      trap - ERR
      say "up: $URL/ar/ (HAProxy; both nodes healthy)"
      return 0
    fi
    sleep 0.2
  done
  say "HAProxy did not answer on $URL/healthz in 180 s (logs: $LOG)"
  cmd_down
  exit 1
}

cmd_down() {
  stop_pidfile "$RUN/haproxy.pid" haproxy
  local name
  for name in sequencer scheduler worker1 worker2 node1 node2; do
    stop_pidfile "$RUN/$name.pid" "$name"
  done
  redis_stop
  bouncer_stop pgbouncer
  bouncer_stop pgbouncer-replica
  pg_stop replica
  pg_stop primary
  rm -f "$DIR/node.env"
  say "down"
}

cmd_purge() {
  cmd_down
  rm -rf "$PGDIR" "$DIR"
  say "data deleted"
}

line() { printf '%-18s %-8s %-6s %s\n' "$@"; }

pid_state() {
  # pid_state PID
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then echo up; else echo down; fi
}

cmd_status() {
  line process pid state port
  local pid
  pid=$(pg_pid primary)
  line postgres-primary "${pid:--}" "$(pid_state "$pid")" "$P_PRIMARY"
  pid=$(pg_pid replica)
  line postgres-replica "${pid:--}" "$(pid_state "$pid")" "$P_REPLICA"
  pid=$(cat "$PGDIR/pgbouncer.pid" 2>/dev/null || true)
  line pgbouncer "${pid:--}" "$(pid_state "$pid")" "$P_BOUNCER"
  pid=$(cat "$PGDIR/pgbouncer-replica.pid" 2>/dev/null || true)
  line pgbouncer-replica "${pid:--}" "$(pid_state "$pid")" "$P_BOUNCER_R"
  pid=$(cat "$RUN/redis.pid" 2>/dev/null || true)
  line redis "${pid:--}" "$(pid_state "$pid")" "$P_REDIS"
  local name port
  for name in node1 node2 worker1 worker2 scheduler sequencer haproxy; do
    case $name in
      node1) port=$P_NODE1 ;; node2) port=$P_NODE2 ;; haproxy) port=$P_HAPROXY ;; *) port=- ;;
    esac
    pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
    line "$name" "${pid:--}" "$(pid_state "$pid")" "$port"
  done
  if [ -n "$(pg_pid primary)" ] && kill -0 "$(pg_pid primary)" 2>/dev/null; then
    echo "replication (primary's view):"
    "${as_pg[@]}" psql -h 127.0.0.1 -p "$P_PRIMARY" -U postgres -At -c \
      "SELECT application_name || ' ' || state || ' replay_lag=' || coalesce(replay_lag::text, '0') FROM pg_stat_replication" postgres || true
  fi
  echo "URL: $URL"
}

component_port() {
  case $1 in
    primary) echo "$P_PRIMARY" ;; replica) echo "$P_REPLICA" ;; pgbouncer) echo "$P_BOUNCER" ;;
    pgbouncer-replica) echo "$P_BOUNCER_R" ;; redis) echo "$P_REDIS" ;; node1) echo "$P_NODE1" ;;
    node2) echo "$P_NODE2" ;; haproxy) echo "$P_HAPROXY" ;; *) echo "" ;;
  esac
}

cmd_start() {
  # One component, started again after a fault (tests/cluster).
  case $1 in
    primary) pg_start primary "$P_PRIMARY" ;;
    replica) pg_start replica "$P_REPLICA" ;;
    pgbouncer) bouncer_up pgbouncer "$P_BOUNCER" "$P_PRIMARY" ;;
    pgbouncer-replica) bouncer_up pgbouncer-replica "$P_BOUNCER_R" "$P_REPLICA" 1 ;;
    redis) redis_up ;;
    node1) node_up node1 "$P_NODE1" ;;
    node2) node_up node2 "$P_NODE2" ;;
    worker1 | worker2) worker_up "$1" ;;
    scheduler) scheduler_up ;;
    sequencer) sequencer_up ;;
    haproxy) haproxy_up ;;
    *) echo "unknown component $1" >&2; exit 2 ;;
  esac
  local port
  port=$(component_port "$1")
  if [ -n "$port" ]; then wait_port "$port" 60 "$1"; fi
  say "$1 started"
}

cmd_stop() {
  # stop NAME: a clean stop; kill NAME: SIGKILL to its whole process group (a crash).
  local signal=$2 pid
  case $1 in
    primary | replica)
      if [ "$signal" = KILL ]; then
        pid=$(pg_pid "$1")
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
      else
        pg_stop "$1"
      fi
      ;;
    pgbouncer | pgbouncer-replica)
      if [ "$signal" = KILL ]; then
        pid=$(cat "$PGDIR/$1.pid" 2>/dev/null || true)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        rm -f "$PGDIR/$1.pid"
      else
        bouncer_stop "$1"
      fi
      ;;
    redis)
      if [ "$signal" = KILL ] && alive "$RUN/redis.pid"; then kill -KILL "$(cat "$RUN/redis.pid")"; fi
      redis_stop
      ;;
    node1 | node2 | worker1 | worker2 | scheduler | sequencer | haproxy)
      if [ "$signal" = KILL ] && alive "$RUN/$1.pid"; then
        pid=$(cat "$RUN/$1.pid")
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
      stop_pidfile "$RUN/$1.pid" "$1"
      ;;
    *) echo "unknown component $1" >&2; exit 2 ;;
  esac
  say "$1 stopped${signal:+ (SIG$signal)}"
}

case ${1:-} in
  up) cmd_up ;;
  start) cmd_start "${2:?component}" ;;
  stop) cmd_stop "${2:?component}" "" ;;
  kill) cmd_stop "${2:?component}" KILL ;;
  down) cmd_down ;;
  purge) cmd_purge ;;
  status) cmd_status ;;
  env) node_env ;;
  *)
    echo "usage: scripts/cluster.sh up|down|status|purge|env|start NAME|stop NAME|kill NAME" >&2
    exit 2
    ;;
esac

# Shared helpers for capture.sh (sourced). Loopback only; every daemon is
# started in the background and its PID recorded in $RUN/pids so that stop_all
# can end exactly the processes this script started.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=${RUN:-/tmp/kbgp-capture}
GOBGP_API=127.0.0.1:50444
FRR_VTY=$RUN/frr

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

remember() { echo "$1 $2" >> "$RUN/pids"; }   # remember NAME PID

start_tshark() {
  tshark -i lo -f 'tcp port 179' -w "$RUN/capture.pcap" -q > "$RUN/tshark.log" 2>&1 &
  remember tshark $!
  for _ in $(seq 50); do grep -q Capturing "$RUN/tshark.log" && break; sleep 0.2; done
  sleep 1
}

start_sink() {
  python3 "$HERE/sink.py" 127.0.0.6 179 > "$RUN/sink.log" 2>&1 &
  remember sink $!
}

start_bird() {
  bird -c "$HERE/bird.conf" -s "$RUN/bird.ctl" -P "$RUN/bird.pid" -f > "$RUN/bird.out" 2>&1 &
  remember bird $!
}

start_frr() {
  mkdir -p "$FRR_VTY"
  /usr/lib/frr/bgpd -f "$HERE/frr.conf" -Z -n -S -l 127.0.0.3 -p 179 \
    -i "$RUN/frr/bgpd.pid" -z "$RUN/frr/zserv.api" --vty_socket "$FRR_VTY" \
    -A 127.0.0.1 -P 0 > "$RUN/frr.out" 2>&1 &
  remember frr $!
}

start_gobgp() {
  # GoBGP puts the OS host name into its FQDN capability and has no option for
  # it, so run it in its own UTS namespace (host name only, no network change).
  unshare --uts sh -c "hostname gobgp3 && exec gobgpd -f '$HERE/gobgp.toml' -t toml \
      --api-hosts $GOBGP_API --pprof-disable" > "$RUN/gobgp.log" 2>&1 &
  remember gobgp $!
  for _ in $(seq 50); do gobgp -u 127.0.0.1 -p 50444 global >/dev/null 2>&1 && break; sleep 0.2; done
}

start_exabgp() {
  env exabgp_api_cli=false exabgp_daemon_drop=false exabgp_log_destination=stdout \
      exabgp_log_packets=true exabgp_tcp_bind='' \
      exabgp "$HERE/exabgp.conf" > "$RUN/exabgp.log" 2>&1 &
  remember exabgp $!
}

birdc_() { birdc -s "$RUN/bird.ctl" "$@"; }
vtysh_() { local a=(); for c in "$@"; do a+=(-c "$c"); done; vtysh --vty_socket "$FRR_VTY" "${a[@]}"; }
gobgp_() { gobgp -u 127.0.0.1 -p 50444 "$@"; }

stop_one() {   # stop_one NAME : SIGTERM the recorded PID, wait, then SIGKILL if needed
  local name=$1 pid
  pid=$(awk -v n="$name" '$1==n {print $2}' "$RUN/pids" 2>/dev/null | tail -1)
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  awk -v n="$name" '$1!=n' "$RUN/pids" > "$RUN/pids.tmp"; mv "$RUN/pids.tmp" "$RUN/pids"
}

stop_all() {
  [ -f "$RUN/pids" ] || return 0
  # daemons first, capture last (so their final NOTIFICATIONs are recorded)
  for n in exabgp gobgp frr bird sink tshark; do stop_one $n; done
}

# wait_until DESCRIPTION COMMAND... : poll (max 60 s) until COMMAND succeeds
wait_until() {
  local what=$1; shift
  for _ in $(seq 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "WARNING: timed out waiting for $what"; return 0
}
bird_up()  { birdc_ show protocols "$1" | grep -q Established; }
frr_up()   { vtysh_ "show bgp neighbors $1 json" | grep -q '"bgpState":"Established"'; }
gobgp_up() { gobgp_ neighbor "$1" | grep -q 'BGP state = established'; }

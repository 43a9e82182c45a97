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
  for n in exabgp gobgp frr bird sink tshark ns-bird ns-frr ns-zebra ns-tshark; do stop_one $n; done
}

# wait_until DESCRIPTION COMMAND... : poll (max 60 s) until COMMAND succeeds
wait_until() {
  local what=$1; shift
  for _ in $(seq 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "WARNING: timed out waiting for $what"; return 0
}
bird_up()  { birdc_ show protocols "$1" | grep -q Established; }
frr_up()   { vtysh_ "show bgp neighbors $1 json" | grep -q '"bgpState":"Established"'; }
gobgp_up() { gobgp_ neighbor "$1" | grep -qi 'BGP state = established'; }

# ---------------------------------------------------------------------------
# Network-namespace part: BIRD in netns kbgp-a, FRR (bgpd + zebra) in kbgp-b,
# joined by one veth pair.  Only these two namespaces see the traffic.
NSA=kbgp-a NSB=kbgp-b NSRUN=$RUN/ns

ns_setup() {
  mkdir -p "$NSRUN/frr"
  chown frr:frr "$NSRUN/frr"      # zebra drops privileges to user frr
  ip netns add $NSA
  ip netns add $NSB
  ip link add kbgpa0 type veth peer name kbgpb0
  ip link set kbgpa0 netns $NSA
  ip link set kbgpb0 netns $NSB
  for ns in $NSA $NSB; do ip -n $ns link set lo up; done
  # fixed link-local addresses (fe80::a / fe80::b) and no DAD delay
  ip -n $NSA link set kbgpa0 addrgenmode none
  ip -n $NSB link set kbgpb0 addrgenmode none
  ip netns exec $NSA sysctl -qw net.ipv6.conf.kbgpa0.accept_dad=0
  ip netns exec $NSB sysctl -qw net.ipv6.conf.kbgpb0.accept_dad=0
  ip -n $NSA addr add fe80::a/64 dev kbgpa0
  ip -n $NSB addr add fe80::b/64 dev kbgpb0
  ip -n $NSA addr add 2001:db8:ab::a/64 dev kbgpa0
  ip -n $NSB addr add 2001:db8:ab::b/64 dev kbgpb0
  ip -n $NSA link set kbgpa0 up
  ip -n $NSB link set kbgpb0 up
}

ns_teardown() {
  ip netns list | grep -qw $NSA && ip netns del $NSA
  ip netns list | grep -qw $NSB && ip netns del $NSB
  return 0
}

ns_start() {
  ip netns exec $NSB tshark -i kbgpb0 -f 'tcp port 179' -w "$NSRUN/capture.pcap" -q \
    > "$NSRUN/tshark.log" 2>&1 &
  remember ns-tshark $!
  for _ in $(seq 50); do grep -q Capturing "$NSRUN/tshark.log" && break; sleep 0.2; done
  sleep 1
  ip netns exec $NSB /usr/lib/frr/zebra -f /dev/null -i "$NSRUN/frr/zebra.pid" \
    -z "$NSRUN/frr/zserv.api" --vty_socket "$NSRUN/frr" -A 127.0.0.1 -P 0 \
    > "$NSRUN/zebra.out" 2>&1 &
  remember ns-zebra $!
  sleep 1
  ip netns exec $NSB /usr/lib/frr/bgpd -f "$HERE/frr-ns.conf" -n -S -l 2001:db8:ab::b -p 179 \
    -i "$NSRUN/frr/bgpd.pid" -z "$NSRUN/frr/zserv.api" --vty_socket "$NSRUN/frr" \
    -A 127.0.0.1 -P 0 > "$NSRUN/frr.out" 2>&1 &
  remember ns-frr $!
  ip netns exec $NSA bird -c "$HERE/bird-ns.conf" -s "$NSRUN/bird.ctl" -P "$NSRUN/bird.pid" -f \
    > "$NSRUN/bird.out" 2>&1 &
  remember ns-bird $!
}

ns_stop() { for n in ns-bird ns-frr ns-zebra ns-tshark; do stop_one $n; done; }
ns_bird_up() { birdc -s "$NSRUN/bird.ctl" show protocols frr | grep -q Established; }

#!/usr/bin/env bash
# Regenerate the kbgp golden BGP vectors from real daemons.  NOT for CI.
#
# Needs root, BIRD 2, FRR bgpd, GoBGP, ExaBGP 4, tshark, python3 (Debian 12
# packages were used: BIRD 2.0.12, FRR 8.4.4, GoBGP 3.10.0, ExaBGP 4.2.21).
#
# Part 1: all BGP traffic stays on loopback (127.0.0.0/8).  Addresses:
#   127.0.0.2 BIRD   AS 4200000002     127.0.0.5 ExaBGP AS 65005 (collector)
#   127.0.0.3 FRR    AS 4200000003     127.0.0.6 python OPEN sink (sink.py)
#   127.0.0.4 GoBGP  AS 4200000004     127.0.0.7/.8 ExaBGP "bad AS" sessions
#
# Part 2: BIRD (netns kbgp-a, 2001:db8:ab::a) and FRR with zebra (netns kbgp-b,
#   2001:db8:ab::b) over a veth pair; the namespaces are deleted afterwards.
#
# Steps: start tshark on lo, start the daemons, let them converge, then
# route refresh -> withdrawals -> admin resets -> admin shutdowns with a
# shutdown communication, stop everything (by PID), split the pcap into BGP
# messages (extract.py), write the annotated vectors (make_vectors.py) and
# check them (verify.py: format, re-decode, tshark cross-check).
#
# Usage: sudo ./capture.sh [OUTDIR]   (OUTDIR defaults to the vectors directory)
# Run files (pcap, logs, messages.jsonl) are left in $RUN (/tmp/kbgp-capture).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$(dirname "$HERE")}
export RUN=${RUN:-/tmp/kbgp-capture}
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if ss -ltn | grep -qE '127\.0\.0\.[2-8]:179 |0\.0\.0\.0:179 |\*:179 '; then
  echo "something already listens on port 179 on loopback; stop it first" >&2; exit 1
fi

case "$RUN" in /|/tmp|"") echo "refusing RUN=$RUN" >&2; exit 1;; esac
rm -rf "$RUN"; mkdir -p "$RUN"; : > "$RUN/pids"
trap 'stop_all; ns_teardown' EXIT

log "start tshark"; start_tshark
log "start OPEN sink, BIRD, FRR, GoBGP"
start_sink; start_bird; start_frr; start_gobgp

log "GoBGP: originate routes"
gobgp_ global rib add -a ipv4 10.4.0.0/24 origin igp med 40 \
  community 65535:0,64512:400 large-community 4200000004:1:2,4200000004:3:4 rt 64512:400
gobgp_ global rib add -a ipv4 10.4.1.0/24 origin igp med 41 \
  community 65535:0,64512:400 large-community 4200000004:1:2,4200000004:3:4 rt 64512:400
gobgp_ global rib add -a ipv4 10.4.9.0/24 origin igp
gobgp_ global rib add -a ipv4 10.97.0.0/24 origin igp large-community 4200000004:97:1
gobgp_ global rib add -a ipv4 10.99.0.0/24 origin igp community 64512:499
gobgp_ global rib add -a ipv6 2001:db8:4::/48 origin igp med 46 \
  community 65535:0,64512:406 large-community 4200000004:6:6,4200000004:7:7
gobgp_ global rib add -a ipv6 2001:db8:4:900::/56 origin igp

log "start ExaBGP"; start_exabgp
log "converge"
sleep 5
wait_until "BIRD-FRR"     bird_up frr
wait_until "BIRD-GoBGP"   bird_up gobgp
wait_until "BIRD-ExaBGP"  bird_up exabgp
wait_until "FRR-GoBGP"    frr_up 127.0.0.4
wait_until "FRR-ExaBGP"   frr_up 127.0.0.5
wait_until "GoBGP-ExaBGP" gobgp_up 127.0.0.5
sleep 10      # FRR batches its first UPDATEs; let everything settle
birdc_ show protocols > "$RUN/state-converged.txt"
vtysh_ 'show bgp summary' >> "$RUN/state-converged.txt"
gobgp_ neighbor >> "$RUN/state-converged.txt"

log "route refresh"
vtysh_ 'clear bgp ipv4 unicast 127.0.0.2 soft in'     # FRR -> BIRD ROUTE-REFRESH; BIRD answers BoRR..EoRR
sleep 4
birdc_ reload in frr                                    # BIRD -> FRR ROUTE-REFRESH x2; FRR answers BoRR..EoRR
sleep 4
vtysh_ 'clear bgp ipv6 unicast 127.0.0.4 soft in'     # FRR -> GoBGP ROUTE-REFRESH (IPv6)
sleep 4
# (GoBGP's "softresetin" only re-runs policy on its Adj-RIB-In; it sends no ROUTE-REFRESH)

log "withdrawals"
birdc_ disable static4w
birdc_ disable static6w
vtysh_ 'configure terminal' 'router bgp 4200000003' 'address-family ipv4 unicast' \
  'no network 10.3.9.0/24' 'no network 10.3.10.0/24' 'exit-address-family' \
  'address-family ipv6 unicast' 'no network 2001:db8:3:900::/56' 'end'
gobgp_ global rib del -a ipv4 10.4.9.0/24
gobgp_ global rib del -a ipv6 2001:db8:4:900::/56
sleep 6

log "administrative resets"
vtysh_ 'clear bgp 127.0.0.4'        # FRR -> GoBGP: Cease/Hard Reset (RFC 8538 N-bit negotiated)
wait_until "FRR-GoBGP again" frr_up 127.0.0.4
vtysh_ 'clear bgp 127.0.0.5'        # FRR -> ExaBGP: Cease/Administrative Reset (no N-bit)
sleep 3
birdc_ restart gobgp                # BIRD -> GoBGP: Cease/Administrative Reset
sleep 2
wait_until "BIRD-GoBGP again" bird_up gobgp
wait_until "GoBGP-BIRD again" gobgp_up 127.0.0.2
sleep 3
gobgp_ neighbor 127.0.0.2 reset --reason "kbgp capture: GoBGP resets this session"
sleep 2
wait_until "BIRD-GoBGP again" bird_up gobgp
wait_until "GoBGP-BIRD again" gobgp_up 127.0.0.2
wait_until "FRR-GoBGP" frr_up 127.0.0.4
sleep 5

log "administrative shutdowns with shutdown communication"
vtysh_ 'configure terminal' 'router bgp 4200000003' \
  'neighbor 127.0.0.2 shutdown message kbgp capture: FRR planned maintenance, back in 5 min' 'end'
sleep 2
birdc_ disable gobgp '"kbgp capture: BIRD → GoBGP maintenance ✓ (UTF-8)"'
sleep 2
gobgp_ neighbor 127.0.0.3 shutdown --reason "kbgp capture: GoBGP shutting down session"
sleep 3
birdc_ show protocols > "$RUN/state-final.txt"
vtysh_ 'show bgp summary' >> "$RUN/state-final.txt"
gobgp_ neighbor >> "$RUN/state-final.txt"

log "stop daemons and capture"
stop_all

# --- part 2: BIRD <-> FRR over an IPv6 link between two network namespaces ---
# (global + link-local IPv6 next hops, RFC 8950 IPv4 routes with IPv6 next hop)
log "netns part: create kbgp-a (BIRD) and kbgp-b (FRR + zebra), veth kbgpa0 <-> kbgpb0"
ns_teardown; ns_setup; ns_start
wait_until "ns BIRD-FRR" ns_bird_up
sleep 6     # FRR's first UPDATEs come after its ~1 s coalesce timer
birdc -s "$NSRUN/bird.ctl" show protocols all frr > "$NSRUN/state-final.txt" || true
log "stop netns daemons, delete namespaces"
ns_stop; ns_teardown
trap - EXIT

log "extract messages"
python3 "$HERE/extract.py" "$RUN/capture.pcap" "$RUN/messages.jsonl"
python3 "$HERE/extract.py" "$NSRUN/capture.pcap" "$NSRUN/messages.jsonl"
python3 "$HERE/catalog.py" "$RUN/messages.jsonl" > "$RUN/catalog.txt"
python3 "$HERE/catalog.py" "$NSRUN/messages.jsonl" > "$NSRUN/catalog.txt"
log "write vectors to $OUT"
python3 "$HERE/make_vectors.py" "$OUT" "$RUN/messages.jsonl" "$NSRUN/messages.jsonl"
log "verify vectors (format + tshark cross-check)"
python3 "$HERE/verify.py" "$OUT"
log "done"

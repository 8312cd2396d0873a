#!/bin/bash
# Presence load against a real tuttid on ephemeral ports (loopback only), digest challenge on
# every request.
#
# usage: bench_presence.sh TUTTID TUTTICTL [SIPP] publish|fanout
#   publish: RATE=3000 SECONDS_=30 — initial PUBLISHes of alice, each challenged then
#            accepted; reports sipp's successful calls and rate and presence.status.
#   fanout:  WATCHERS=500 PUB_RATE=25 SECONDS_=30 — WATCHERS subscriptions (user bob) to
#            alice, then PUBLISHes of alice at PUB_RATE; reports NOTIFYs sent per second
#            over the publishing window (events.status) and failures. All watchers share
#            one SIPp socket, so it gets a 4 MB receive buffer: at the default one burst of
#            500 NOTIFYs overflows it and every drop costs a 500 ms retransmission (T1),
#            which measured the generator, not tuttid (2,750/s, 22 % of NOTIFYs dropped in
#            the kernel). The host's UDP receive-buffer drops over the window are printed.
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
mode=${4:-publish}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp bench-presence)
pid=
wpid=
cleanup() {
  [ -n "$wpid" ] && kill "$wpid" 2>/dev/null
  stop_and_clean
}
trap cleanup EXIT
sip_port=$(free_port)
media_lo=$(free_port)
"$tuttid" --sip "127.0.0.1:$sip_port" --control-socket "$tmp/ctl.sock" --state-dir "$tmp" \
  --media-ports "$media_lo-$((media_lo + 1))" --metrics off --log-level error --sip-auth-order md5-first >"$tmp/tuttid.out" 2>&1 &
pid=$!
wait_for_socket "$tmp/ctl.sock" "$tmp/tuttid.out" || exit 1
ctl call user.add '{"name":"alice","password":"wonderland"}' >/dev/null
ctl call user.add '{"name":"bob","password":"builder"}' >/dev/null
ctl call buddy.add '{"user":"bob","buddy":"alice"}' >/dev/null
for _ in $(seq 50); do ctl call presence.show '{"user":"bob"}' | grep -q '"buddies":\["alice"\]' && break; sleep 0.1; done
secs=${SECONDS_:-30}
cpu() { read -r -a st < "/proc/$pid/stat"; echo $(( (st[13] + st[14]) )); }
tck=$(getconf CLK_TCK)
publish() {  # rate calls
  (cd "$tmp" && timeout $((secs + 60)) "$sipp" -sf "$here/bench_publish.xml" -t u1 -i 127.0.0.1 -p "$(free_port)" \
    -s alice -au alice -ap wonderland -auth_uri "alice@127.0.0.1:$sip_port" -r "$1" -rp 1000 -m "$2" -l 100000 \
    -timeout $((secs + 30))s -nostdin -fd 1 -trace_stat -stf "$tmp/pub_stat.csv" "127.0.0.1:$sip_port" >"$tmp/pub.out" 2>&1)
}
if [ "$mode" = publish ]; then
  rate=${RATE:-3000}
  c0=$(cpu)
  t0=$(date +%s.%N)
  publish "$rate" $((rate * secs))
  rc=$?
  t1=$(date +%s.%N)
  c1=$(cpu)
  grep -E "Successful call|Failed call|Call Rate|Elapsed" "$tmp/pub.out" | tail -4
  ctl call presence.status
  echo "wall seconds: $(echo "$t1 - $t0" | bc)  tuttid cpu seconds: $(echo "scale=2; ($c1 - $c0) / $tck" | bc)  sipp exit: $rc"
  exit $rc
fi
# fanout
watchers=${WATCHERS:-500}
pub_rate=${PUB_RATE:-25}
(cd "$tmp" && exec timeout $((secs + 120)) "$sipp" -sf "$here/bench_watch.xml" -t u1 -i 127.0.0.1 -p "$(free_port)" \
  -s alice -au bob -ap builder -auth_uri "alice@127.0.0.1:$sip_port" -r 200 -m "$watchers" -l "$watchers" \
  -timeout $((secs + 90))s -buff_size 4194304 -nostdin "127.0.0.1:$sip_port" >"$tmp/watch.out" 2>&1) &
wpid=$!
active=0
for _ in $(seq 300); do
  active=$(ctl call events.status | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print(sum(p['active'] for p in r['packages'] if p['package']=='presence'))")
  [ "$active" -ge "$watchers" ] && break
  sleep 0.1
done
echo "active presence subscriptions: $active"
stat() { ctl call events.status | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; p=[p for p in r['packages'] if p['package']=='presence'][0]; print(p['notifies_sent'], p['notifies_failed'])"; }
read -r n0 f0 < <(stat)
rcvbuf_errors() { awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp; }
d0=$(rcvbuf_errors)
c0=$(cpu)
t0=$(date +%s.%N)
publish "$pub_rate" $((pub_rate * secs))
t1=$(date +%s.%N)
sleep 0.2
read -r n1 f1 < <(stat)
c1=$(cpu)
grep -E "Successful call|Failed call|Call Rate" "$tmp/pub.out" | tail -3
wall=$(echo "$t1 - $t0" | bc)
echo "NOTIFYs sent: $((n1 - n0)) in $wall s = $(echo "($n1 - $n0) / $wall" | bc) /s; failed: $((f1 - f0)); tuttid cpu seconds: $(echo "scale=2; ($c1 - $c0) / $tck" | bc); UDP receive-buffer drops: $(($(rcvbuf_errors) - d0))"

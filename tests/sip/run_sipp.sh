#!/bin/bash
# SIPp against a real tuttid on ephemeral ports: the OPTIONS scenario over UDP and TCP,
# then the malformed-message scenario, then OPTIONS again (still alive), then sip.status
# must show the malformed drops. Exit 0 only if every step passed.
#
# usage: run_sipp.sh TUTTID TUTTICTL [SIPP]
#   RATE=5000 SECONDS_=30 run_sipp.sh ... bench   : the OPTIONS-rate measurement instead
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
mode=${4:-test}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp sipp)
pid=
trap stop_and_clean EXIT

sip_port=$(free_port)
media_lo=$(free_port)
media_hi=$((media_lo + 40))

start_tuttid "$media_lo-$media_hi" || exit 1


run_sipp() {  # scenario transport extra-args...
  local sf=$1 tr=$2
  shift 2
  local lp
  lp=$(free_port)
  # timeout(1) as well: sipp's own -timeout does not end a call stuck retransmitting.
  (cd "$tmp" && timeout 120 "$sipp" -sf "$here/$sf" -t "$tr" -i 127.0.0.1 -p "$lp" \
     -nostdin -trace_err -error_file "$tmp/sipp_err.log" "$@" "127.0.0.1:$sip_port" >"$tmp/sipp.out" 2>&1)
}

if [ "$mode" = bench ]; then
  rate=${RATE:-5000}
  secs=${SECONDS_:-30}
  run_sipp options.xml u1 -r "$rate" -rp 1000 -m $((rate * secs)) -l 100000 -timeout $((secs + 30))s \
    -trace_stat -stf "$tmp/stat.csv" -fd 1
  rc=$?
  tail -40 "$tmp/sipp.out" | grep -E "Successful call|Failed call|Call Rate|Elapsed" ; 
  ctl call sip.status
  # tuttid's CPU time (user + system clock ticks) over the whole run.
  read -r -a st < "/proc/$pid/stat"
  echo "tuttid cpu seconds: $(( (st[13] + st[14]) / $(getconf CLK_TCK) ))"
  echo "sipp exit: $rc"
  exit $rc
fi

fail=0
step() {  # name command...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; cat "$tmp/sipp.out" "$tmp/sipp_err.log" 2>/dev/null | tail -15; fail=1; fi
}
step "OPTIONS over UDP (50 calls)" run_sipp options.xml u1 -m 50 -r 50 -timeout 20s
step "OPTIONS over TCP (50 calls)" run_sipp options.xml t1 -m 50 -r 50 -timeout 20s
step "malformed requests over UDP" run_sipp malformed.xml u1 -m 1 -timeout 20s
step "OPTIONS still answered" run_sipp options.xml u1 -m 5 -timeout 20s
# REGISTER with digest, then a dial-in call with RTP and a DTMF digit, as user alice.
ctl call user.add '{"name":"alice","password":"wonderland"}' >/dev/null
step "REGISTER with digest (UDP)" run_sipp register.xml u1 -m 1 -s alice -au alice -ap wonderland -timeout 20s
step "dial-in call with RTP, DTMF and BYE" run_sipp dialin.xml u1 -m 1 -s room1 -au alice -ap wonderland \
  -mi 127.0.0.1 -auth_uri "room1@127.0.0.1:$sip_port" -timeout 30s
# A locked conference refuses dial-ins with 403 after authentication; unlocked, it admits.
ctl conf create room4 >/dev/null
ctl conf lock room4 >/dev/null
step "dial-in to a locked conference: 403" run_sipp dialin_refused.xml u1 -m 1 -s room4 -au alice -ap wonderland \
  -mi 127.0.0.1 -auth_uri "room4@127.0.0.1:$sip_port" -timeout 20s
# An operator's kick of a SIP participant ends its call: the focus sends BYE (Reason cause=200).
run_sipp kicked.xml u1 -m 1 -s room5 -au alice -ap wonderland -mi 127.0.0.1 \
  -auth_uri "room5@127.0.0.1:$sip_port" -timeout 40s &
sipp_pid=$!
kicked=0
for _ in $(seq 200); do
  part=$(ctl conf show room5 2>/dev/null |
    python3 -c "import json,sys; m=json.load(sys.stdin)['result']['members']; print(m[0]['participant'] if m else '')" 2>/dev/null)
  if [ -n "$part" ]; then ctl part kick room5 "$part" >/dev/null && kicked=1; break; fi
  sleep 0.05
done
wait "$sipp_pid"
sipp_rc=$?
step "kick: the participant was found and removed" test "$kicked" = 1
step "kick: the caller got a BYE and answered it" test "$sipp_rc" = 0
# re-INVITE hold/resume: SIPp runs the call while we watch the participant's deaf flag.
deaf_of() {
  ctl conf show room2 2>/dev/null |
    python3 -c "import json,sys; m=json.load(sys.stdin)['result']['members']; print(m[0]['deaf'] if m else '')" 2>/dev/null
}
run_sipp reinvite.xml u1 -m 1 -s room2 -au alice -ap wonderland -mi 127.0.0.1 \
  -auth_uri "room2@127.0.0.1:$sip_port" -timeout 40s &
sipp_pid=$!
saw_deaf=0 saw_resumed=0
for _ in $(seq 200); do
  d=$(deaf_of)
  [ "$d" = True ] && saw_deaf=1
  if [ "$saw_deaf" = 1 ] && [ "$d" = False ]; then saw_resumed=1; break; fi
  sleep 0.05
done
wait "$sipp_pid"
sipp_rc=$?
step "re-INVITE hold (sendonly -> recvonly) and resume (sendrecv), then BYE" test "$sipp_rc" = 0
step "hold made the participant deaf" test "$saw_deaf" = 1
step "resume made it hear again" test "$saw_resumed" = 1
calls=$(ctl call sip.calls)
echo "$calls"
checkc() { echo "$calls" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }
step "the registration is bound" checkc "r['bindings'] >= 1"
step "the calls joined and hung up" checkc "r['joined'] >= 2 and r['hangups'] == r['joined'] and not r['calls']"
workers=$(ctl call workers)
echo "$workers"
step "the conference received the caller's RTP" sh -c "echo '$workers' | python3 -c \"import json,sys; w=json.load(sys.stdin)['result']; sys.exit(0 if sum(x['rx_rtp'] for x in w) > 50 else 1)\""
status=$(ctl call sip.status)
echo "$status"
check() { echo "$status" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }
step "sip.status counts OPTIONS" check "r['requests'].get('OPTIONS',0) >= 106"
step "sip.status counts the two drops" check "r['malformed'].get('missing_mandatory_header',0) == 1 and r['malformed'].get('malformed_via',0) == 1"
step "sip.status counts the answered ones" check "r['malformed_answered'] == 2"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
step "tuttid stops cleanly" test "$st" = 0
exit $fail

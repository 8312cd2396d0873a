#!/bin/bash
# "conference-event subscription": SIPp (conf_events.xml) subscribes to the conference
# sip:confev@host (RFC 4575) against a real tuttid on ephemeral ports, while this script
# changes the conference through tuttictl — carol joins, is muted, leaves, then bob talks
# (rtp_tone.py) and stops — each after the
# previous NOTIFY went (events.status counts them), so the NOTIFYs SIPp checks come in a
# known order despite the one-second rate limit. Then events.status must show the
# subscription gone and the counters right. Then conf_events_errors.xml: the refusals
# (489, 423, 406, 481) and a NOTIFY answered 481, which must drop its subscription.
# Exit 0 only if every step passed.
#
# usage: run_conf_events.sh TUTTID TUTTICTL [SIPP]
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp conf-events)
pid=
sipp_pid=
cleanup() {
  if [ -n "$sipp_pid" ]; then kill "$sipp_pid" 2>/dev/null; wait "$sipp_pid" 2>/dev/null; fi
  stop_and_clean
}
trap cleanup EXIT

sip_port=$(free_port)
media_lo=$(free_port)
media_hi=$((media_lo + 7))

start_tuttid "$media_lo-$media_hi" || exit 1

field() {  # JSON-on-stdin python-expression: prints the expression over r = result
  python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print($1)"
}
fail=0
step() {  # name command...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
# Waits until the conference package has sent N NOTIFYs (10 s at most).
notifies() { ctl call events.status | field "sum(p['notifies_sent'] for p in r['packages'] if p['package']=='conference')"; }
wait_notifies() {
  for _ in $(seq 100); do [ "$(notifies)" -ge "$1" ] && return 0; sleep 0.1; done
  echo "only $(notifies) NOTIFYs, wanted $1"
  return 1
}

ctl call user.add '{"name":"alice","password":"wonderland"}' >/dev/null
ctl call conf.create '{"name":"confev"}' >/dev/null
bob_port=$(ctl call conf.add_rtp '{"conf":"confev","codec":"pcmu","label":"bob"}' | field "r['local_port']")

lp=$(free_port)
(cd "$tmp" && timeout 60 "$sipp" -sf "$here/conf_events.xml" -t u1 -i 127.0.0.1 -p "$lp" -m 1 \
   -s confev -au alice -ap wonderland -auth_uri "confev@127.0.0.1:$sip_port" -timeout 40s \
   -nostdin -trace_err -error_file "$tmp/sipp_err.log" "127.0.0.1:$sip_port" >"$tmp/sipp.out" 2>&1) &
sipp_pid=$!

step "the full roster was sent" wait_notifies 1
carol=$(ctl call conf.add_rtp '{"conf":"confev","codec":"pcmu","label":"carol"}' | field "r['participant']")
step "carol joined: a NOTIFY" wait_notifies 2
ctl call part.mute "{\"conf\":\"confev\",\"participant\":$carol}" >/dev/null
step "carol muted: a NOTIFY" wait_notifies 3
ctl call part.remove "{\"conf\":\"confev\",\"participant\":$carol}" >/dev/null
step "carol left: a NOTIFY" wait_notifies 4
# bob talks (a tone as RTP to his port) until his speaking NOTIFY went, then stops.
python3 "$here/rtp_tone.py" 127.0.0.1 "$bob_port" "$tmp/stop_tone" &
tone_pid=$!
step "bob speaks: a NOTIFY" wait_notifies 5
touch "$tmp/stop_tone"
wait "$tone_pid"
step "bob stopped speaking: a NOTIFY" wait_notifies 6

wait "$sipp_pid"
rc=$?
sipp_pid=
if [ "$rc" = 0 ]; then echo "ok   SIPp checked every NOTIFY"; else
  echo "FAIL SIPp (exit $rc)"; tail -20 "$tmp/sipp.out"; cat "$tmp/sipp_err.log" 2>/dev/null | tail -30; fail=1; fi

status=$(ctl call events.status)
echo "$status"
check() { echo "$status" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; p=[x for x in r['packages'] if x['package']=='conference'][0]; sys.exit(0 if ($1) else 1)"; }
step "the subscription is gone" check "not r['subscriptions'] and p['active'] == 0"
step "seven NOTIFYs, none failed" check "p['notifies_sent'] == 7 and p['notifies_failed'] == 0"
step "one unsubscribe, two accepted SUBSCRIBEs" check "p['unsubscribed'] == 1 and p['accepted'] == 2"

# The refusals, and a subscriber answering its NOTIFY 481 (conf_events_errors.xml).
lp=$(free_port)
if (cd "$tmp" && timeout 60 "$sipp" -sf "$here/conf_events_errors.xml" -t u1 -i 127.0.0.1 -p "$lp" -m 1 \
      -s confev -au alice -ap wonderland -auth_uri "confev@127.0.0.1:$sip_port" -timeout 30s \
      -nostdin -trace_err -error_file "$tmp/sipp_err2.log" "127.0.0.1:$sip_port" >"$tmp/sipp2.out" 2>&1); then
  echo "ok   SIPp: 489, 423, 406, 481, and a NOTIFY refused"
else
  echo "FAIL SIPp refusals"; tail -20 "$tmp/sipp2.out"; tail -30 "$tmp/sipp_err2.log" 2>/dev/null; fail=1
fi
status=$(ctl call events.status)
echo "$status"
step "423, 406 and 481 counted as refused" check "p['refused'] == 3 and p['accepted'] == 3"
step "the NOTIFY answered 481 dropped its subscription" \
  check "not r['subscriptions'] and p['notifies_failed'] == 1 and p['terminated'] == 1"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
step "tuttid stops cleanly" test "$st" = 0
exit $fail

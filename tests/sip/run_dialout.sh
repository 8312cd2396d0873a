#!/bin/bash
# The focus's dial-out and liveness against SIPp peers and a real tuttid on ephemeral ports:
#   1. a dial-in caller that stops sending RTP gets a BYE (Reason cause=408) from the focus;
#   2. `tuttictl conf dial` INVITEs a registered SIPp UAS (bob), which answers and hangs up;
#   3. REFER from alice to the conference with Refer-To bob: bob is dialled, alice gets
#      NOTIFYs with sipfrag ending in "SIP/2.0 200";
#   4. escalation by REFER (Refer-To the room itself, method=INVITE): bob and carol, the
#      other members of chat room5, are dialled;
#   5. escalation by `tuttictl chat escalate`.
# Exit 0 only if every step passed.
#
# usage: run_dialout.sh TUTTID TUTTICTL [SIPP]
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp dialout)
pid=
uas_pids=()
cleanup() {
  for p in "${uas_pids[@]}"; do kill "$p" 2>/dev/null; done
  stop_and_clean
}
trap cleanup EXIT

sip_port=$(free_port)
media_lo=$(free_port)
media_hi=$((media_lo + 15))

start_tuttid "$media_lo-$media_hi" --rtp-timeout-s 1 || exit 1


run_sipp() {  # name port scenario extra-args... (foreground, bounded by timeout(1))
  local name=$1 port=$2 sf=$3
  shift 3
  local rc
  (cd "$tmp" && timeout 60 "$sipp" -sf "$here/$sf" -t u1 -i 127.0.0.1 -p "$port" -mi 127.0.0.1 \
     -nostdin -trace_err -trace_msg -message_file "$tmp/$name.msg" -error_file "$tmp/$name.err" "$@" "127.0.0.1:$sip_port" >"$tmp/$name.out" 2>&1)
  rc=$?
  [ "$rc" = 0 ] || echo "sipp $name exit $rc"
  return $rc
}
start_uas() {  # user port: answers one dial-out INVITE, then hangs up
  (cd "$tmp" && exec timeout 60 "$sipp" -sf "$here/uas_answer.xml" -t u1 -i 127.0.0.1 -p "$2" -mi 127.0.0.1 \
     -mp "$(free_port)" -s "$1" -m 1 -nostdin -trace_err -error_file "$tmp/uas_$1.err" \
     "127.0.0.1:$sip_port" >"$tmp/uas_$1.out" 2>&1) &
  uas_pids+=($!)
  eval "uas_$1=$!"
  sleep 0.5  # let it bind before anything dials
}
wait_uas() {  # user
  local p
  p=$(eval echo "\$uas_$1")
  wait "$p"
}

fail=0
step() {  # name command...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else
    echo "FAIL $name"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -s "$f" ] && { echo "--- $f"; tail -8 "$f"; }; done
    fail=1
  fi
}
calls() { ctl call sip.calls; }
# The last NOTIFY a sipp run received (its -trace_msg file) terminates the subscription
# and its sipfrag says "SIP/2.0 200".
last_notify_ok() {
  python3 - "$tmp/$1.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
notifies = [m for m in re.split(r"-{20,}.*\n", text) if "message received" in m and "\nNOTIFY " in m]
if not notifies: sys.exit(1)
last = notifies[-1]
sys.exit(0 if "Subscription-State: terminated" in last and "\nSIP/2.0 200 OK" in last else 1)
PY
}
check() { calls | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }

for u in alice bob carol; do ctl call user.add "{\"name\":\"$u\",\"password\":\"pw-$u\"}" >/dev/null; done

# 1. RTP stops: the focus hangs up.
step "RTP timeout: the focus sends BYE" run_sipp rtpto "$(free_port)" rtp_timeout.xml -m 1 -s room1 \
  -au alice -ap pw-alice -auth_uri "room1@127.0.0.1:$sip_port" -timeout 40s
step "RTP timeout counted, call gone" check "r['rtp_timeouts'] == 1 and r['byes_sent'] == 1 and not r['calls']"

# 2. conf dial to a registered SIPp UAS.
bob_port=$(free_port)
carol_port=$(free_port)
step "bob registers" run_sipp regbob "$bob_port" register.xml -m 1 -s bob -au bob -ap pw-bob -timeout 20s
step "carol registers" run_sipp regcarol "$carol_port" register.xml -m 1 -s carol -au carol -ap pw-carol -timeout 20s
start_uas bob "$bob_port"
dial=$(ctl conf dial room2 bob)
echo "$dial"
step "conf dial answers an attempt id" sh -c "echo '$dial' | python3 -c \"import json,sys; d=json.load(sys.stdin)['result']['dials']; sys.exit(0 if len(d)==1 and d[0]['id']>=1 and d[0]['user']=='bob' else 1)\""
step "bob answered and hung up (conf dial)" wait_uas bob
step "conf dial joined, call gone" check "r['dials_joined'] == 1 and not r['calls']"
dials=$(ctl conf dials)
step "conf dials shows the outcome" sh -c "echo '$dials' | python3 -c \"import json,sys; d=json.load(sys.stdin)['result']['dials']; sys.exit(0 if d[0]['outcome']=='joined' and d[0]['status']==200 else 1)\""
undial=$(ctl conf dial room2 nobody)
step "dialling an unregistered user says offline" sh -c "echo '$undial' | python3 -c \"import json,sys; d=json.load(sys.stdin)['result']['dials']; sys.exit(0 if d[0]['outcome']=='offline' and d[0]['status']==480 else 1)\""

# 3. REFER with Refer-To bob.
start_uas bob "$bob_port"
step "REFER dial-out: alice gets 202 and NOTIFYs" run_sipp refer "$(free_port)" refer.xml -m 1 -s room3 \
  -key target bob -key refer_params "" -au alice -ap pw-alice -auth_uri "room3@127.0.0.1:$sip_port" -timeout 40s
step "the last NOTIFY: terminated, sipfrag 200" last_notify_ok refer
step "bob answered and hung up (REFER)" wait_uas bob
step "REFER counted and joined" check "r['refers'] >= 1 and r['dials_joined'] == 2 and not r['calls']"

# 4. Escalation by REFER: every other member of room5 is dialled.
ctl chat create room5 alice bob carol >/dev/null
start_uas bob "$bob_port"
start_uas carol "$carol_port"
step "REFER escalation: 202 and NOTIFYs" run_sipp escalate "$(free_port)" refer.xml -m 1 -s room5 \
  -key target room5 -key refer_params ";method=INVITE" -au alice -ap pw-alice -auth_uri "room5@127.0.0.1:$sip_port" -timeout 40s
step "the last NOTIFY: terminated, sipfrag 200 (escalation)" last_notify_ok escalate
step "bob answered (escalation)" wait_uas bob
step "carol answered (escalation)" wait_uas carol
step "escalation joined both" check "r['dials_joined'] == 4 and r['escalations'] == 1 and not r['calls']"

# 5. Escalation from the CLI.
ctl chat create room6 bob carol >/dev/null
start_uas bob "$bob_port"
start_uas carol "$carol_port"
esc=$(ctl chat escalate room6)
echo "$esc"
step "chat escalate answers two attempts" sh -c "echo '$esc' | python3 -c \"import json,sys; d=json.load(sys.stdin)['result']['dials']; sys.exit(0 if sorted(x['user'] for x in d)==['bob','carol'] else 1)\""
step "bob answered (chat escalate)" wait_uas bob
step "carol answered (chat escalate)" wait_uas carol
step "chat escalate joined both" check "r['dials_joined'] == 6 and not r['calls']"
step "escalating an unknown room fails" sh -c "! '$tuttictl' --socket '$tmp/ctl.sock' chat escalate nosuchroom >/dev/null 2>&1"

# 6. Forking: bob registers a second device that only rings. conf dial INVITEs both; the
# first device answers, so the focus must CANCEL the ringing leg (200 to the CANCEL, 487 to
# the INVITE, ACK for the 487 — all checked by the ringing device's scenario).
bob2_port=$(free_port)
step "bob registers a second device" run_sipp regbob2 "$bob2_port" register.xml -m 1 -s bob -au bob -ap pw-bob -timeout 20s
(cd "$tmp" && exec timeout 60 "$sipp" -sf "$here/uas_ring_cancel.xml" -t u1 -i 127.0.0.1 -p "$bob2_port" \
   -mi 127.0.0.1 -mp "$(free_port)" -s bob -m 1 -nostdin -trace_err -error_file "$tmp/uas_bob2.err" \
   "127.0.0.1:$sip_port" >"$tmp/uas_bob2.out" 2>&1) &
ringer=$!
uas_pids+=($ringer)
start_uas bob "$bob_port"
fork=$(ctl conf dial room7 bob)
echo "$fork"
step "forked dial: one attempt" sh -c "echo '$fork' | python3 -c \"import json,sys; d=json.load(sys.stdin)['result']['dials']; sys.exit(0 if len(d)==1 and d[0]['user']=='bob' else 1)\""
step "the answering device joined and hung up" wait_uas bob
step "the ringing device was cancelled (200, 487, ACK)" wait "$ringer"
step "forked dial joined once, call gone" check "r['dials_joined'] == 7 and not r['calls']"
dials=$(ctl conf dials)
step "the forked attempt rang both contacts and joined" sh -c "echo '$dials' | python3 -c \"import json,sys; d=[x for x in json.load(sys.stdin)['result']['dials'] if x['conference']=='room7']; sys.exit(0 if len(d)==1 and d[0]['contacts']==2 and d[0]['outcome']=='joined' else 1)\""

calls
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
step "tuttid stops cleanly" test "$st" = 0
exit $fail

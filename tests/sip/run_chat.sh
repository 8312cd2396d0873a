#!/bin/bash
# Text chat with SIPp against a real tuttid on ephemeral ports (loopback only).
#
#   run_chat.sh TUTTID TUTTICTL [SIPP] [test|crash|bench]
#
# test : three members' devices (SIPp, registered with digest) receive 30 MESSAGEs sent by
#        a fourth SIPp as alice, every one in seq order 1..30; a non-member is refused 403,
#        an unknown room 404; dave, offline meanwhile, registers and gets the backlog in
#        order; history has the 30 in order. Then (after a restart, so no stale binding is
#        left) rooms made by clients, as in `rooms`.
# rooms: alice REFERs bob and carol into a new room (202, one NOTIFY with sipfrag 200), a
#        non-member's REFER is refused 403, a MESSAGE from bob reaches alice and carol,
#        carol leaves by REFER method=BYE, the room's conference roster (RFC 4575 fetch)
#        lists alice and bob with connected message endpoints and refuses carol 403; with a
#        voice conference of the same name, one roster lists both (dave, in the call, may
#        watch it).
# crash: 1,000 MESSAGEs from SIPp at 200/s (slow enough that the kill lands mid-stream on a
#        loaded box); tuttid is killed with SIGKILL mid-stream and restarted on the same
#        state dir; every MESSAGE SIPp saw a 200 for (its seq in X-Tutti-Seq) is in
#        `tuttictl chat history ROOM --json` with that seq and body, seqs contiguous.
# bench: RATE=3500 SECONDS_=30: MESSAGE with a digest challenge on every request into a
#        room of 3 members whose devices (SIPp) answer every fan-out; prints the figures.
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
mode=${4:-test}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp chat)
pid=
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
  stop_and_clean
}
trap cleanup EXIT

sip_port=$(free_port)
media_lo=$(free_port)

# (Re)starts tuttid on the same ports and state directory.
tuttid_up() { start_tuttid "$media_lo-$((media_lo + 1))"; }

# Evaluates a Python expression over the JSON result of a command (r).
check_ctl() {  # expr command...
  local expr=$1
  shift
  ctl "$@" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($expr) else 1)"
}
# Polls until the expression holds (20 s at most).
wait_for() {  # expr command...
  for _ in $(seq 200); do check_ctl "$@" && return 0; sleep 0.1; done
  return 1
}

# A member's device: registers from a fresh port, then answers MESSAGEs there.
start_member() {  # user [trace]
  local user=$1 trace=${2:-}
  local lp
  lp=$(free_port)
  local extra=()
  [ -n "$trace" ] && extra=(-trace_msg -message_file "$tmp/$user.log")
  (cd "$tmp" && exec timeout 300 "$sipp" -sf "$here/chat_member.xml" -oocsf "$here/chat_member_ooc.xml" \
     -t u1 -i 127.0.0.1 -p "$lp" -m 1 -s "$user" -au "$user" -ap "pw-$user" -d 250000 -nostdin \
     -trace_err -error_file "$tmp/$user.err" "${extra[@]}" "127.0.0.1:$sip_port" >"$tmp/$user.out" 2>&1) &
  bg+=($!)
}
stop_members() {
  for p in "${bg[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${bg[@]}"; do wait "$p" 2>/dev/null; done
  bg=()
}

send() {  # user room count rate [extra sipp args...]
  local user=$1 room=$2 count=$3 rate=$4
  shift 4
  local lp
  lp=$(free_port)
  (cd "$tmp" && timeout 120 "$sipp" -sf "$here/chat_send.xml" -t u1 -i 127.0.0.1 -p "$lp" -m "$count" -r "$rate" \
     -s "$room" -key user "$user" -au "$user" -ap "pw-$user" -auth_uri "$room@127.0.0.1:$sip_port" -nostdin \
     -trace_err -error_file "$tmp/send_err.log" "$@" "127.0.0.1:$sip_port" >"$tmp/send.out" 2>&1)
}

# The X-Tutti-Seq values a member's device received, in arrival order, must be 1..N.
received_in_order() {  # user n
  python3 - "$tmp/$1.log" "$2" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
seqs = [int(s) for s in re.findall(r"^X-Tutti-Seq: (\d+)", text, re.M)]
want = list(range(1, int(sys.argv[2]) + 1))
if seqs != want:
    print("received", seqs[:10], "...", len(seqs), "messages; wanted 1..%s" % sys.argv[2])
    sys.exit(1)
EOF
}

fail=0
step() {  # name command...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; tail -5 "$tmp"/*.err "$tmp/send.out" "$tmp/tuttid.out" 2>/dev/null; fail=1; fi
}

tuttid_up || exit 1
for u in alice bob carol dave erin; do ctl call user.add "{\"name\":\"$u\",\"password\":\"pw-$u\"}" >/dev/null; done
ctl chat create lobby alice bob carol dave >/dev/null

# Rooms made by clients (REFER, RFC 3515, to the room's URI).
rooms_test() {
  for u in alice bob carol; do start_member "$u" trace; done
  step "alice, bob and carol registered" wait_for "r['bindings'] == 3" call sip.registrations
  # refer.xml as USER (it is written for alice); chat_refer_refused.xml takes -key user.
  sed 's/sip:alice@/sip:[user]@/g' "$here/refer.xml" >"$tmp/refer_as.xml"
  refer() {  # name user target method [scenario]
    local lp
    lp=$(free_port)
    (cd "$tmp" && timeout 60 "$sipp" -sf "${5:-$tmp/refer_as.xml}" -key user "$2" -t u1 -i 127.0.0.1 -p "$lp" -m 1 -s party \
       -key target "$3" -key refer_params ";method=$4" -au "$2" -ap "pw-$2" -auth_uri "party@127.0.0.1:$sip_port" \
       -nostdin -timeout 20s -trace_msg -message_file "$tmp/$1.msg" "127.0.0.1:$sip_port" >"$tmp/send.out" 2>&1)
  }
  # The REFER's implicit subscription ended with a NOTIFY whose sipfrag says 200: the only
  # one for method=MESSAGE (202 comes after the commit), after a 100 for method=BYE.
  notified_200() {  # name count
    python3 - "$tmp/$1.msg" "$2" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
notifies = [m for m in re.split(r"-{20,}.*\n", text) if "message received" in m and "\nNOTIFY " in m]
sys.exit(0 if len(notifies) == int(sys.argv[2]) and "Subscription-State: terminated" in notifies[-1]
         and "\nSIP/2.0 200 OK" in notifies[-1] and "Event: refer" in notifies[-1] else 1)
PY
  }
  roster() {  # name user scenario
    local lp
    lp=$(free_port)
    (cd "$tmp" && timeout 60 "$sipp" -sf "$here/$3" -t u1 -i 127.0.0.1 -p "$lp" -m 1 -s party -key user "$2" -au "$2" \
       -ap "pw-$2" -auth_uri "party@127.0.0.1:$sip_port" -nostdin -timeout 20s -trace_msg \
       -message_file "$tmp/$1.msg" "127.0.0.1:$sip_port" >"$tmp/send.out" 2>&1)
  }
  step "alice REFERs bob into the new room party: 202" refer refer_bob alice bob MESSAGE
  step "its NOTIFY: sipfrag 200, terminated" notified_200 refer_bob 1
  step "alice REFERs carol into party: 202" refer refer_carol alice carol MESSAGE
  step "its NOTIFY: sipfrag 200, terminated" notified_200 refer_carol 1
  step "party's members: alice, bob, carol" check_ctl "r['members'] == ['alice', 'bob', 'carol']" chat show party
  step "erin, no member, may not add dave: 403" refer refer_erin erin dave MESSAGE "$here/chat_refer_refused.xml"
  step "bob's MESSAGE to party is answered 200" send bob party 1 10 -timeout 20s
  step "alice and carol got it" wait_for \
    "all(m['delivered'] == 1 for m in r['rooms'][0]['members'] if m['user'] != 'bob')" chat status party
  step "history: one message from bob" check_ctl \
    "[(m['seq'], m['from']) for m in r['messages']] == [(1, 'bob')]" chat history party
  step "carol leaves by REFER method=BYE: 202" refer refer_leave carol carol BYE
  step "its last NOTIFY: sipfrag 200, terminated" notified_200 refer_leave 2
  step "party's members: alice, bob" check_ctl "r['members'] == ['alice', 'bob']" chat show party
  step "bob fetches party's conference roster" roster roster_bob bob chat_roster.xml
  step "the roster: alice and bob, each a connected endpoint with message media" python3 - "$tmp/roster_bob.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
notify = [m for m in re.split(r"-{20,}.*\n", text) if "message received" in m and "\nNOTIFY " in m][0]
users = re.findall(r'<user entity="sip:(\w+)@[^"]*" state="full">(.*?)</user>', notify, re.S)
ok = [u for u, _ in users] == ["alice", "bob"] and all(
    "<type>message</type>" in b and "<status>connected</status>" in b for _, b in users)
if not ok: print(notify)
sys.exit(0 if ok else 1)
PY
  step "carol, no member any more, may not watch it: 403" roster roster_carol carol chat_roster_refused.xml
  # The voice conference of the same URI shares the roster: dave, in the call only, is
  # listed with his audio and may watch; carol still may not.
  ctl call conf.create '{"name":"party"}' >/dev/null
  ctl call conf.add_rtp '{"conf":"party","codec":"pcmu","label":"dave"}' >/dev/null
  step "dave, in party's voice conference, fetches the roster" roster roster_dave dave chat_roster.xml
  step "the roster: alice and bob (message), dave (audio)" python3 - "$tmp/roster_dave.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
notify = [m for m in re.split(r"-{20,}.*\n", text) if "message received" in m and "\nNOTIFY " in m][0]
users = dict(re.findall(r'<user entity="sip:(\w+)@[^"]*" state="full">(.*?)</user>', notify, re.S))
ok = sorted(users) == ["alice", "bob", "dave"] and "<type>message</type>" in users["alice"] and \
    "<type>audio</type>" in users["dave"] and "<type>message</type>" not in users["dave"]
if not ok: print(notify)
sys.exit(0 if ok else 1)
PY
  step "carol may not watch the shared roster either: 403" roster roster_carol2 carol chat_roster_refused.xml
  step "alice REFERs erin with Refer-Sub: false: 202 and no NOTIFY" refer refer_erin2 alice erin MESSAGE \
    "$here/chat_refer_nosub.xml"
  step "party's members: alice, bob, erin" check_ctl "r['members'] == ['alice', 'bob', 'erin']" chat show party
  stop_members
  step "alice's and carol's devices got bob's message as seq 1" python3 - "$tmp/alice.log" "$tmp/carol.log" <<'PY'
import re, sys
for f in sys.argv[1:]:
    text = open(f, errors="replace").read()
    if not re.search(r"^X-Tutti-Seq: 1\b", text, re.M) or "msg 1 from bob" not in text: sys.exit(1)
PY
}

if [ "$mode" = rooms ]; then
  rooms_test
  exit $fail
fi

if [ "$mode" = test ]; then
  for u in alice bob carol; do start_member "$u" trace; done
  step "three members registered" wait_for "r['bindings'] == 3" call sip.registrations
  step "alice sends 30 MESSAGEs, each answered 200 after the commit" send alice lobby 30 50 -timeout 60s
  step "every registered member got all 30" wait_for \
    "all(m['delivered'] == 30 for m in r['rooms'][0]['members'] if m['user'] != 'dave')" chat status lobby
  step "dave is offline and has nothing yet" check_ctl \
    "[m for m in r['rooms'][0]['members'] if m['user'] == 'dave'][0]['delivered'] == 0" chat status lobby
  stop_members
  for u in alice bob carol; do step "$u's device got seq 1..30 in order" received_in_order "$u" 30; done
  # Refusals: erin is no member (403), "attic" no room (404).
  sed 's/<recv response="200"\/>/<recv response="403"\/>/' "$here/chat_send.xml" >"$tmp/send403.xml"
  sed 's/<recv response="200"\/>/<recv response="404"\/>/' "$here/chat_send.xml" >"$tmp/send404.xml"
  refused() {  # scenario user room
    local lp
    lp=$(free_port)
    (cd "$tmp" && timeout 60 "$sipp" -sf "$1" -t u1 -i 127.0.0.1 -p "$lp" -m 1 -s "$3" -key user "$2" -au "$2" \
       -ap "pw-$2" -auth_uri "$3@127.0.0.1:$sip_port" -nostdin -timeout 20s "127.0.0.1:$sip_port" >"$tmp/send.out" 2>&1)
  }
  step "a non-member is refused 403" refused "$tmp/send403.xml" erin lobby
  step "an unknown room is answered 404" refused "$tmp/send404.xml" alice attic
  step "counters: 30 accepted, 2 refused, 90 delivered, no failure" check_ctl \
    "r['accepted'] == 30 and r['refused'] == 2 and r['delivered'] == 90 and r['failed'] == 0" chat status
  # Offline delivery across a restart: the cursors were stored, the backlog comes back from
  # the store. dave registers and gets the backlog, in order; alice gets nothing twice.
  kill -TERM "$pid"
  wait "$pid"
  pid=
  step "tuttid restarts" tuttid_up
  start_member alice trace
  start_member dave trace
  step "alice and dave registered" wait_for "r['bindings'] == 2" call sip.registrations
  step "dave's backlog is delivered when he registers" wait_for \
    "[m for m in r['rooms'][0]['members'] if m['user'] == 'dave'][0]['delivered'] == 30" chat status lobby
  step "alice's device, registered again, gets nothing again" check_ctl \
    "[m for m in r['rooms'][0]['members'] if m['user'] == 'alice'][0]['delivered'] == 30 and r['sent'] == 30" chat status lobby
  stop_members
  step "dave's device got seq 1..30 in order" received_in_order dave 30
  step "alice's device got nothing after the restart" received_in_order alice 0
  step "history: the 30 messages, seq 1..30" check_ctl \
    "[m['seq'] for m in r['messages']] == list(range(1, 31)) and all(m['from'] == 'alice' for m in r['messages'])" \
    chat history lobby
  step "counters since the restart: 30 delivered to dave, read back from the store, no failure" check_ctl \
    "r['delivered'] == 30 and r['fetched'] == 30 and r['failed'] == 0" chat status
  kill -TERM "$pid"
  wait "$pid"
  st=$?
  pid=
  step "tuttid stops cleanly" test "$st" = 0
  rm -f "$tmp"/alice.log "$tmp"/bob.log "$tmp"/carol.log
  tuttid_up || exit 1
  rooms_test
  exit $fail
fi

if [ "$mode" = crash ]; then
  # SIPp's message log says which MESSAGEs got a 200 and with which seq.
  (send alice lobby 1000 200 -trace_msg -message_file "$tmp/crash.log" -max_non_invite_retrans 2 -timeout 60s) &
  sender=$!
  step "tuttid took some messages" wait_for "r['accepted'] >= 300" chat status
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  pid=
  wait "$sender"
  tuttid_up || exit 1
  ctl chat history lobby --limit 1000 >"$tmp/history.json"
  step "every acknowledged message is stored with its seq, seqs contiguous" python3 - "$tmp/crash.log" "$tmp/history.json" <<'EOF'
import json, re, sys
log = open(sys.argv[1], errors="replace").read()
hist = json.load(open(sys.argv[2]))["result"]["messages"]
# Messages in the log, in order; bodies of sent MESSAGEs and seqs of received 200s by Call-ID.
body, acked = {}, {}
for m in re.split(r"\n-{10,}[^\n]*\n", log):
    cid = re.search(r"^Call-ID: *(\S+)", m, re.M | re.I)
    if not cid:
        continue
    cid = cid.group(1)
    m = m.split("\n", 1)[-1].lstrip()  # drop "UDP message sent (N bytes):"
    if m.startswith("MESSAGE "):
        b = re.search(r"\r?\n\r?\n(msg \d+ from \w+)", m)
        if b:
            body[cid] = b.group(1)
    elif m.startswith("SIP/2.0 200"):
        s = re.search(r"^X-Tutti-Seq: *(\d+)", m, re.M)
        acked[cid] = int(s.group(1))
seqs = [h["seq"] for h in hist]
by_seq = {h["seq"]: h["body"].strip() for h in hist}
problems = []
if seqs != list(range(1, len(seqs) + 1)):
    problems.append("seqs not contiguous from 1")
for cid, s in acked.items():
    if by_seq.get(s) != body.get(cid):
        problems.append("acked seq %d (%s) stored as %r" % (s, body.get(cid), by_seq.get(s)))
print("acknowledged before the kill: %d, stored: %d" % (len(acked), len(hist)))
if not acked or len(acked) >= 1000:
    problems.append("the kill did not land mid-stream")
for p in problems[:10]:
    print(p)
sys.exit(1 if problems else 0)
EOF
  last=$(python3 -c "import json; print(len(json.load(open('$tmp/history.json'))['result']['messages']))")
  step "after the restart the room goes on at seq $((last + 1))" send alice lobby 5 50 -timeout 30s
  step "history holds them" check_ctl "r['messages'][-1]['seq'] == $((last + 5))" chat history lobby --after "$last"
  exit $fail
fi

# bench
rate=${RATE:-3500}
secs=${SECONDS_:-30}
for u in alice bob carol; do start_member "$u"; done
ctl call chat.remove_member '{"room":"lobby","user":"dave"}' >/dev/null
wait_for "r['bindings'] == 3" call sip.registrations || { echo "members did not register"; exit 1; }
send alice lobby $((rate * secs)) "$rate" -rp 1000 -l 100000 -timeout $((secs + 60))s -trace_stat -stf "$tmp/stat.csv" -fd 1
rc=$?
grep -E "Successful call|Failed call|Call Rate|Elapsed|Retransmissions" "$tmp/send.out" | tail -8
sleep 2
ctl call chat.status '{}' | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print({k: r[k] for k in ('received','accepted','refused','sent','delivered','rejected','failed')}); print([(m['user'], m['delivered'], m['in_flight']) for m in r['rooms'][0]['members']])"
read -r -a st < "/proc/$pid/stat"
echo "tuttid cpu seconds: $(( (st[13] + st[14]) / $(getconf CLK_TCK) ))"
echo "sipp exit: $rc"
exit $rc

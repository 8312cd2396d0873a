#!/bin/bash
# Interop of presence and IM with an independently written SIP client: baresip 1.0 (libre),
# driven headless through its ctrl_tcp module, its console (stdio) output captured as a log.
#
# Presence: alice and bob publish with baresip's presence module (account pubint=N: PUBLISH
# of PIDF basic open/closed) and watch each other (contact ;presence=p2p: SUBSCRIBE to the
# buddy's AOR through the outbound proxy). tuttid must hold each one's published status, and
# each baresip must see its buddy through tuttid's NOTIFYs, including alice going offline and
# online again.
# Chat: alice, bob and carol each send MESSAGEs to sip:lobby@localhost (the room is each
# one's current contact); tuttid merges them into one sequence and fans each out to every
# member but its sender. Each must receive exactly the others' messages, in the merged order.
#
# usage: run_baresip_im.sh TUTTID TUTTICTL [BARESIP]
# Exit 0 only if every check passed; 77 (meson's "skipped") when baresip is missing.
set -u
tuttid=$1
tuttictl=$2
baresip=${3:-baresip}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
command -v "$baresip" >/dev/null || { echo "skip: no baresip"; exit 77; }
tmp=$(make_tmp baresip-im)
pid=
declare -A bpid cport
cleanup() {
  for u in "${!bpid[@]}"; do kill "${bpid[$u]}" 2>/dev/null; wait "${bpid[$u]}" 2>/dev/null; done
  stop_and_clean
}
trap cleanup EXIT

failures=0
check() {  # description command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
# Retries a check's command for up to 6 s (baresip and tuttid work asynchronously; a
# passing run needs well under a second per check even on a loaded machine).
eventually() {  # command...
  local end=$((SECONDS + 6))
  while ((SECONDS < end)); do "$@" && return 0; sleep 0.2; done
  "$@"
}

sip_port=$(free_port)
media_lo=$(free_port)
ctl() { "$tuttictl" --socket "$tmp/ctl.sock" "$@"; }
bctl() {  # user command [params...]
  local u=$1; shift
  python3 "$here/baresip_ctrl.py" "${cport[$u]}" "$@"
}
plain() { sed 's/\x1b\[[0-9;]*m//g; s/\r//g' "$@"; }

# baresip 1.0 (libre) abandons a challenge when any offered algorithm is not MD5.
start_tuttid_md5() {
  "$tuttid" --sip "127.0.0.1:$sip_port" --domain localhost --state-dir "$tmp/state" \
    --control-socket "$tmp/ctl.sock" --media 127.0.0.1 --media-ports "$media_lo-$((media_lo + 1))" --metrics off \
    --log-level info --sip-auth-order md5-only >>"$tmp/tuttid.out" 2>&1 &
  pid=$!
  for _ in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
}
start_tuttid_md5

users=(alice bob carol)
# A user and its baresip: presence published every pubint seconds and on each change; the
# stdio UI prints received MESSAGEs; ctrl_tcp takes our commands. Contacts: the room first
# (the current contact, which /message sends to), then the buddy watched with presence=p2p.
setup_user() {  # user [buddy-user buddy-display]
  local u=$1 d="$tmp/$1"
  ctl user add "$u" --password "secret-$u" >/dev/null || { echo "FAIL user add $u"; exit 1; }
  mkdir -p "$d"
  cport[$u]=$(free_port)
  cat >"$d/config" <<CFG
poll_method epoll
net_interface 127.0.0.1
dns_server 127.0.0.1:53
sip_listen 127.0.0.1:$(free_port)
module_path /usr/lib/baresip/modules
module stdio.so
module_tmp account.so
module_app contact.so
module_app menu.so
module_app presence.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:${cport[$u]}
CFG
  echo "<sip:$u@localhost;transport=udp>;auth_pass=secret-$u;outbound=\"sip:127.0.0.1:$sip_port;transport=udp\";regint=600;pubint=600" >"$d/accounts"
  echo '"Lobby" <sip:lobby@localhost>' >"$d/contacts"
  [ $# -eq 3 ] && echo "\"$3\" <sip:$2@localhost>;presence=p2p" >>"$d/contacts"
}
start_baresip() {  # user
  local d="$tmp/$1"
  # stdio reads the terminal: give it a FIFO we hold open, so it never sees end of input.
  [ -p "$d/in" ] || { mkfifo "$d/in"; exec {fd}<>"$d/in"; }
  "$baresip" -f "$d" -t 170 <"$d/in" >"$tmp/$1.log" 2>&1 &
  bpid[$1]=$!
}

setup_user alice bob Bob
setup_user bob alice Alice
setup_user carol
# Buddy lists and the room first: a SUBSCRIBE before `buddy add` is refused (403) and baresip
# retries only after 30 s.
ctl buddy add alice bob >/dev/null
ctl buddy add bob alice >/dev/null
ctl chat create lobby alice bob carol >/dev/null

registered() {
  ctl --json call sip.registrations | python3 -c 'import json,sys
r=json.load(sys.stdin)["result"]; a=sorted(x["aor"] for x in r["aors"] if x["contacts"])
sys.exit(a!=["alice@localhost","bob@localhost","carol@localhost"])'
}
publications() {  # user: how many publications tuttid holds for it
  ctl --json presence show "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["publications"]))'
}
# baresip 1.0 sometimes sends a second initial PUBLISH (no SIP-If-Match) while its first is
# still being challenged: its 10 ms publish timer and its REGISTER-OK handler race, against
# RFC 3903 section 4 (one PUBLISH at a time per event state). tuttid rightly makes that a
# second publication, which baresip then never refreshes nor removes (it keeps one ETag):
# a stale open tuple for 600 s. That is baresip's bug, not what this test is about, so a
# start where it happened is redone with a fresh tuttid (publications live in memory).
for attempt in 1 2 3 4 5; do
  for u in "${users[@]}"; do start_baresip "$u"; done
  eventually registered
  published_once() { [ "$(publications alice)" -ge 1 ] && [ "$(publications bob)" -ge 1 ]; }
  eventually published_once
  sleep 0.5  # a second PUBLISH leaves within milliseconds of the first
  [ "$(publications alice)" = 1 ] && [ "$(publications bob)" = 1 ] && break
  echo "     start $attempt: baresip published twice (alice $(publications alice), bob $(publications bob)); again"
  for u in "${users[@]}"; do kill "${bpid[$u]}"; wait "${bpid[$u]}"; unset "bpid[$u]"; done
  kill "$pid"; wait "$pid"; pid=
  start_tuttid_md5
done
check "three baresip users registered with digest" eventually registered

# ---- presence ----
# What tuttid composed from USER's PUBLISHes: exactly one publication, one tuple (baresip's
# id t4109, contact its AOR) with BASIC, no activities (baresip sends an empty
# <rpid:activities/>).
published() {  # user basic
  ctl --json presence show "$1" | python3 -c 'import json,sys
p=json.load(sys.stdin)["result"]; u,basic=sys.argv[1],sys.argv[2]
t=[(x["id"],x["basic"],x["contact"]) for x in p["tuples"]]
sys.exit(not (p["basic"]==basic and t==[("t4109",basic,"sip:%s@localhost"%u)] and p["activities"]==[] and len(p["publications"])==1))' "$1" "$2"
}
# How WATCHER's baresip shows BUDDY in its contact list (Online, Offline, Busy, Unknown).
sees() {  # watcher buddy status
  local got
  got=$(bctl "$1" contacts | grep -F "<sip:$2@localhost>" | sed 's/^[> ]*//' | awk '{print $1}')
  [ "$got" = "$3" ]
}
# baresip logs a buddy's change only between known states (not from Unknown).
logged_change() {  # watcher buddy from to
  plain "$tmp/$1.log" | grep -qxF "<sip:$2@localhost> changed status from $3 to $4"
}
check "tuttid holds alice's published presence: open" eventually published alice open
check "tuttid holds bob's published presence: open" eventually published bob open
check "bob's baresip sees alice Online (NOTIFY from tuttid)" eventually sees bob alice Online
check "alice's baresip sees bob Online (NOTIFY from tuttid)" eventually sees alice bob Online

bctl alice presence_offline >/dev/null
check "alice's PUBLISH of closed reaches tuttid" eventually published alice closed
check "bob's baresip sees alice Offline" eventually sees bob alice Offline
check "bob's baresip logged alice's change Online -> Offline" eventually logged_change bob alice Online Offline
check "alice's own view of bob is unchanged (Online)" sees alice bob Online
bctl alice presence_online >/dev/null
check "alice's PUBLISH of open reaches tuttid" eventually published alice open
check "bob's baresip sees alice Online again" eventually sees bob alice Online
check "bob's baresip logged alice's change Offline -> Online" eventually logged_change bob alice Offline Online

# An RPID activity, which baresip 1.0 cannot publish but reads in a NOTIFY (<rpid:busy/>):
# alice's second device (a scripted PUBLISH with digest) publishes busy beside her baresip's
# open tuple; tuttid composes both, and bob's baresip must show Busy, then Online again when
# that publication is withdrawn.
composed_busy() {
  ctl --json presence show alice | python3 -c 'import json,sys
p=json.load(sys.stdin)["result"]
sys.exit(not (p["basic"]=="open" and p["activities"]==["busy"] and len(p["publications"])==2
  and sorted(x["id"] for x in p["tuples"])==["phone2","t4109"]))'
}
pub=$(python3 "$here/sip_publish.py" "$sip_port" alice secret-alice localhost busy)
check "alice's second device publishes activity busy (200 with a SIP-ETag)" test "${pub%% *}" = 200 -a -n "${pub#* }"
check "tuttid composes alice: open, activities [busy], both publications' tuples" composed_busy
check "bob's baresip sees alice Busy" eventually sees bob alice Busy
check "bob's baresip logged alice's change Online -> Busy" eventually logged_change bob alice Online Busy
pub=$(python3 "$here/sip_publish.py" "$sip_port" alice secret-alice localhost - "${pub#* }")
check "alice's second device withdraws its publication (200)" test "${pub%% *}" = 200
check "tuttid holds alice's baresip publication alone again: open" eventually published alice open
check "bob's baresip sees alice Online after busy ends" eventually sees bob alice Online
check "bob's baresip logged alice's change Busy -> Online" eventually logged_change bob alice Busy Online

# ---- chat ----
# Two rounds, each member's MESSAGE sent right after the other's, so tuttid merges
# concurrent senders. Bodies name their sender.
sent=()
for round in 1 2; do
  for u in "${users[@]}"; do
    bctl "$u" message "$u says $round" >/dev/null || echo "     (ctrl_tcp message failed for $u)"
    sent+=("$u says $round")
  done
done
# What a member's baresip printed for received MESSAGEs: `sip:lobby@localhost: "BODY"` (the
# room is the From, the sender its display name, which baresip does not print).
received() {  # user
  plain "$tmp/$1.log" | sed -n 's/^sip:lobby@localhost: "\(.*\)"$/\1/p'
}
history() { ctl --json chat history lobby; }
got_all() {
  local n=0 u
  for u in "${users[@]}"; do n=$((n + $(received "$u" | wc -l))); done
  [ "$n" -ge 12 ]
}
eventually got_all >/dev/null
h=$(history)
echo "     history: $(echo "$h" | python3 -c 'import json,sys; print([(m["seq"],m["body"]) for m in json.load(sys.stdin)["result"]["messages"]])')"
check "history holds exactly the six messages sent, seq 1..6, each from its authenticated sender" \
  python3 -c 'import json,sys
m=json.loads(sys.argv[1])["result"]["messages"]; sent=sys.argv[2:]
sys.exit(not ([x["seq"] for x in m]==list(range(1,7)) and sorted(x["body"] for x in m)==sorted(sent)
  and all(x["body"].split(" ")[0]==x["from"] for x in m) and all(x["content_type"]=="text/plain" for x in m)))' \
  "$h" "${sent[@]}"
for u in "${users[@]}"; do
  got=$(received "$u")
  want=$(echo "$h" | python3 -c 'import json,sys
for m in json.load(sys.stdin)["result"]["messages"]:
  if m["from"]!=sys.argv[1]: print(m["body"])' "$u")
  echo "     $u received: $(echo "$got" | paste -sd '|')"
  check "$u received the others' four messages, in the merged order, and none of its own" \
    test "$got" = "$want" -a "$(echo "$got" | wc -l)" = 4
done
status=$(ctl --json chat status lobby)
check "tuttid's fan-out: 12 MESSAGEs sent, 12 answered 2xx, none failed; every cursor at 6" \
  python3 -c 'import json,sys
s=json.loads(sys.argv[1])["result"]
sys.exit(not (s["sent"]==12 and s["delivered"]==12 and s["failed"]==0 and s["rejected"]==0
  and sorted((m["user"],m["delivered"]) for m in s["rooms"][0]["members"])==[("alice",6),("bob",6),("carol",6)]))' "$status"

# ---- the end ----
# Quitting, baresip withdraws its publication (PUBLISH Expires: 0, challenged and sent again):
# tuttid keeps nothing for alice (basic unknown, no tuple), and bob's baresip, still running,
# reads the NOTIFY without an open tuple as Offline.
bctl alice quit >/dev/null
wait "${bpid[alice]}"
unset 'bpid[alice]'
no_publication() {
  ctl --json presence show alice | python3 -c 'import json,sys
p=json.load(sys.stdin)["result"]; sys.exit(not (p["publications"]==[] and p["tuples"]==[] and p["basic"]=="unknown"))'
}
check "alice's baresip withdrew its publication on quit" eventually no_publication
check "bob's baresip sees alice Offline after she quit" eventually sees bob alice Offline
for u in bob carol; do bctl "$u" quit >/dev/null; wait "${bpid[$u]}"; unset "bpid[$u]"; done
[ "$failures" -ne 0 ] && for u in alice bob; do echo "     $(ctl --json presence show "$u")"; done
check "tuttid still running" kill -0 "$pid"
kill "$pid"; wait "$pid"; rc=$?; pid=
check "tuttid stops cleanly" test "$rc" -eq 0
if [ "$failures" -ne 0 ]; then
  echo "--- tuttid log"; tail -20 "$tmp/tuttid.out"
  for u in "${users[@]}"; do echo "--- $u"; plain "$tmp/$u.log" | tail -15; done
fi
exit $((failures > 0))

#!/bin/bash
# SIPp presence scenarios against a real tuttid on ephemeral ports: PUBLISH refusals,
# a buddy-list subscription with RLMI, PUBLISH/SUBSCRIBE/NOTIFY with PIDF and caps, an
# unauthorised watcher; then presence.show and presence.status must agree. Exit 0 only if
# every step passed.
#
# usage: run_presence.sh TUTTID TUTTICTL [SIPP]
set -u
tuttid=$1
tuttictl=$2
sipp=${3:-sipp}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp presence)
pid=
trap stop_and_clean EXIT

sip_port=$(free_port)
media_lo=$(free_port)
media_hi=$((media_lo + 1))

start_tuttid "$media_lo-$media_hi" || exit 1


run_sipp() {  # scenario extra-args...
  local sf=$1
  shift
  local lp
  lp=$(free_port)
  rm -f "$tmp/sipp_err.log"
  (cd "$tmp" && timeout 40 "$sipp" -sf "$here/$sf" -t u1 -i 127.0.0.1 -p "$lp" \
     -nostdin -trace_err -error_file "$tmp/sipp_err.log" "$@" "127.0.0.1:$sip_port" >"$tmp/sipp.out" 2>&1)
}

fail=0
step() {  # name command...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; cat "$tmp/sipp.out" "$tmp/sipp_err.log" 2>/dev/null | tail -25; echo; fail=1; fi
}
ctl call user.add '{"name":"alice","password":"wonderland"}' >/dev/null
ctl call user.add '{"name":"bob","password":"builder","display_name":"Bob B"}' >/dev/null
ctl call user.add '{"name":"carol","password":"singer"}' >/dev/null
ctl call buddy.add '{"user":"bob","buddy":"alice"}' >/dev/null
# The presence service rereads buddy lists after the write commits: wait until it has.
for _ in $(seq 50); do
  ctl call presence.show '{"user":"bob"}' | grep -q '"buddies":\["alice"\]' && break
  sleep 0.1
done

# sipp signs every request of a run with one digest-uri (-auth_uri): one Request-URI per run.
uri() { echo "$1@127.0.0.1:$sip_port"; }
step "PUBLISH refusals: 412 489 415 400 423 403" run_sipp presence_errors.xml -m 1 -timeout 30s -auth_uri "$(uri alice)"
step "PUBLISH, SUBSCRIBE, NOTIFY with PIDF and caps" run_sipp presence.xml -m 1 -timeout 30s -auth_uri "$(uri alice)"
step "unauthorised watcher refused 403" run_sipp presence_forbidden.xml -m 1 -timeout 30s -s alice -auth_uri "$(uri alice)"
step "list URI refused 403 to others" run_sipp presence_forbidden.xml -m 1 -timeout 30s -s bob-buddies -auth_uri "$(uri bob-buddies)"
# The list scenario waits for a second NOTIFY: carol joins bob's list once it is subscribed.
list_subscription() {
  run_sipp presence_list.xml -m 1 -timeout 30s -auth_uri "$(uri bob-buddies)" &
  local sp=$!
  for _ in $(seq 100); do ctl call events.status | grep -q 'bob-buddies' && break; sleep 0.1; done
  ctl call buddy.add '{"user":"bob","buddy":"carol"}' >/dev/null
  wait "$sp"
}
step "list subscription: RLMI + PIDF in multipart/related, list change" list_subscription

# alice sets her own list over SIP (421 without eventlist first); bob may not set it.
step "list edit: 421 without eventlist, MESSAGE resource-lists 200, NOTIFY lists bob and carol" \
  run_sipp presence_list_edit.xml -m 1 -timeout 30s -auth_uri "$(uri alice-buddies)"
step "list edit by another user refused 403" \
  run_sipp presence_list_edit_forbidden.xml -m 1 -timeout 30s -s alice-buddies -auth_uri "$(uri alice-buddies)"
blist=$(ctl call buddy.list '{"user":"alice"}')
echo "$blist"
checkbl() { echo "$blist" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }
step "the edited list is in the store (buddy.list)" checkbl "r=={'user':'alice','buddies':['bob','carol']}"
step "tuttictl buddy list shows it" sh -c "'$tuttictl' --socket '$tmp/ctl.sock' buddy list alice | grep -qx 'buddies  bob, carol'"

show=$(ctl call presence.show '{"user":"alice"}')
echo "$show"
checks() { echo "$show" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }
step "presence.show: composed state, media, user info" checks \
  "r['basic']=='open' and r['media']==['audio','text'] and r['display_name']=='Alice Liddell' and r['activities']==['meeting'] and r['notes']==['in a meeting'] and len(r['publications'])==1 and r['buddies']==['bob','carol']"
status=$(ctl call presence.status)
echo "$status"
checkst() { echo "$status" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($1) else 1)"; }
step "presence.status counts every outcome" checkst \
  "r['initial']==1 and r['modifies']==1 and r['refreshes']==1 and r['unknown_etag']==1 and r['bad_event']==1 and r['bad_type']==1 and r['bad_body']==1 and r['too_brief']==1 and r['forbidden']==1 and r['rejected_pidf'].get('bad_basic')==1"
step "tuttictl presence show renders" sh -c "'$tuttictl' --socket '$tmp/ctl.sock' presence show alice | grep -q 'Alice Liddell'"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
step "tuttid stops cleanly" test "$st" = 0
exit $fail

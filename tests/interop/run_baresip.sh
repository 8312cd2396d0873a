#!/bin/bash
# Interop with an independently written SIP user agent: baresip (libre's SIP stack), driven
# headless. Three users register with digest, dial into one conference, each sending its own
# tone from a WAV file; each must hear the other two and not itself (N-1), then hang up.
# Then two more are dialled out by the operator (`conf dial`), answer automatically, hear
# each other, and are hung up by the focus when the conference is destroyed.
#
# usage: run_baresip.sh TUTTID TUTTICTL [BARESIP]
# Exit 0 only if every check passed; 77 (meson's "skipped") when baresip is missing.
set -u
tuttid=$1
tuttictl=$2
baresip=${3:-baresip}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
command -v "$baresip" >/dev/null || { echo "skip: no baresip"; exit 77; }
tmp=$(make_tmp baresip)
pid=
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  stop_and_clean
}
trap cleanup EXIT

failures=0
check() {  # description command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

sip_port=$(free_port)
media_lo=$(free_port)
media_hi=$((media_lo + 5))
ctl() { "$tuttictl" --socket "$tmp/ctl.sock" "$@"; }

# baresip 1.0 (libre) abandons a challenge when any offered algorithm is not MD5, so this
# deployment offers MD5 alone (sip_auth_order = md5-only).
"$tuttid" --sip "127.0.0.1:$sip_port" --domain localhost --state-dir "$tmp/state" \
  --control-socket "$tmp/ctl.sock" --media 127.0.0.1 --media-ports "$media_lo-$media_hi" --metrics off \
  --log-level warn --sip-auth-order md5-only >"$tmp/tuttid.out" 2>&1 &
pid=$!
for _ in $(seq 50); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

declare -A tone=([alice]=440 [bob]=700 [carol]=1100 [dave]=440 [erin]=1100)
# A user and its baresip configuration: a tone WAV as microphone, what it hears recorded
# by the sndfile module; `auto` makes it answer incoming calls at once.
setup_user() {  # user [auto]
  local u=$1 answer=${2:-}
  ctl user add "$u" --password "secret-$u" >/dev/null || { echo "FAIL user add $u"; exit 1; }
  python3 - "$tmp/$u.wav" "${tone[$u]}" <<'PY'
import math, struct, sys, wave
out, f = sys.argv[1], float(sys.argv[2])
w = wave.open(out, "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * f * i / 8000))) for i in range(8000 * 30)))
PY
  local d="$tmp/$u" rtp
  mkdir -p "$d/dump"
  rtp=$(free_port)
  # Everything on loopback: SIP, RTP, and no DNS server but a local one nobody answers.
  cat >"$d/config" <<CFG
poll_method epoll
net_interface 127.0.0.1
dns_server 127.0.0.1:53
sip_listen 127.0.0.1:$(free_port)
rtp_ports $rtp-$((rtp + 3))
audio_source aufile,$tmp/$u.wav
audio_player aubridge,sink-$u
audio_alert aubridge,alert-$u
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
module_app menu.so
snd_path $d/dump
CFG
  local params="auth_pass=secret-$u;outbound=\"sip:127.0.0.1:$sip_port;transport=udp\";regint=600"
  [ "$answer" = auto ] && params="$params;answermode=auto"
  echo "<sip:$u@localhost;transport=udp>;$params" >"$d/accounts"
  touch "$d/contacts"
}

# What a user heard, seconds FROM to FROM+5 of its call: each tone is sent at -12 dBFS, so
# the others' must be near that in the mix and its own absent (N-1).
check_heard() {  # user from-second tone...
  local u=$1 from=$2 dec levels
  shift 2
  dec=$(ls "$tmp/$u/dump/"*-dec.wav 2>/dev/null | head -1)
  if [ -z "$dec" ]; then
    check "$u recorded what it heard" false
    return
  fi
  levels=$(python3 "$here/tone_levels.py" "$dec" "$from:5" "$@")
  echo "     $u heard $levels"
  check "$u hears the others and not itself" python3 -c '
import json, sys
r = json.loads(sys.argv[1]); own = sys.argv[2]
lv = r["levels"]
others = [f for f in lv if f != own]
sys.exit(not (r["seconds"] == 5 and all(lv[f] > -20 for f in others) and lv[own] < -50))' "$levels" "${tone[$u]}"
}

# Dial-in: each registers, waits a moment, dials the conference, talks for ~13 s and quits.
users=(alice bob carol)
for u in "${users[@]}"; do setup_user "$u"; done
for u in "${users[@]}"; do
  (sleep 1; exec "$baresip" -f "$tmp/$u" -e "/dial sip:room1@localhost" -t 15) >"$tmp/$u.log" 2>&1 &
  pids+=($!)
done
sleep 4
regs=$(ctl --json call sip.registrations)
check "three baresip users registered with digest" \
  python3 -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; a=sorted(x["aor"] for x in r["aors"] if x["contacts"]); sys.exit(a!=["alice@localhost","bob@localhost","carol@localhost"])' "$regs"
conf=$(ctl --json conf show room1)
check "three participants in room1" \
  python3 -c 'import json,sys; c=json.loads(sys.argv[1])["result"]; sys.exit(len(c["members"])!=3)' "$conf"
for p in "${pids[@]}"; do wait "$p"; done
pids=()
# Seconds 5 to 10 of the call: everyone has joined (starts differ by a second or two on a
# loaded machine) and nobody has left yet.
for u in "${users[@]}"; do check_heard "$u" 5 440 700 1100; done

# Dial-out: two more users register with auto-answer; the operator calls both into room2,
# lets them talk, then destroys the conference, which must hang both calls up with BYE.
for u in dave erin; do
  setup_user "$u" auto
  "$baresip" -f "$tmp/$u" -t 20 >"$tmp/$u.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 50); do
  n=$(ctl --json call sip.registrations | python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin)["result"]["aors"] if x["aor"] in ("dave@localhost","erin@localhost") and x["contacts"]))')
  [ "$n" = 2 ] && break
  sleep 0.2
done
ctl conf create room2 --rate 8000 >/dev/null
dial=$(ctl --json conf dial room2 dave erin)
check "conf dial calls both" python3 -c 'import json,sys; d=json.loads(sys.argv[1])["result"]["dials"]; sys.exit(len(d)!=2)' "$dial"
joined=0
for _ in $(seq 50); do
  n=$(ctl --json conf show room2 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["members"]))')
  [ "$n" = 2 ] && { joined=1; break; }
  sleep 0.2
done
check "both answered and joined room2" test "$joined" = 1
sleep 8
ctl conf destroy room2 >/dev/null
sleep 1
for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p"; done
pids=()
for u in dave erin; do
  check_heard "$u" 2 440 1100
done

calls=$(ctl --json call sip.calls)
echo "     $calls" | cut -c1-400
check "every call hung up with BYE (the dial-outs by the focus, on the destroy)" \
  python3 -c 'import json,sys; c=json.loads(sys.argv[1])["result"]; sys.exit(not (c["joined"]==5 and c["dials_joined"]==2 and c["hangups"]==5 and c["kicked"]==2 and c["byes_sent"]==2 and c["calls"]==[]))' "$calls"
check "tuttid still running" kill -0 "$pid"
kill "$pid"; wait "$pid"; rc=$?; pid=
check "tuttid stops cleanly" test "$rc" -eq 0
[ "$failures" -eq 0 ] || { echo "--- tuttid log"; tail -20 "$tmp/tuttid.out"; for u in "${users[@]}" dave erin; do echo "--- $u"; grep -v "audio=" "$tmp/$u.log" | tail -15; done; }
exit $((failures > 0))

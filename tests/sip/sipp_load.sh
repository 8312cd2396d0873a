#!/bin/bash
# SIPp load against a real tuttid on ephemeral ports, with a digest challenge on every
# request: USERS users are provisioned through the control socket (user.add) and listed in
# a SIPp injection file, so each call authenticates as a different user.
#
# usage: sipp_load.sh TUTTID TUTTICTL SIPP MODE
#   MODE register : REGISTER at RATE/s (default 5000) for SECONDS_ s (default 30); each
#                   registration is two transactions (401, then 200)
#   MODE dialin   : dial-in calls at RATE/s (default 200) for SECONDS_ s (default 30) into
#                   conferences of 10 (CONFS conferences, HOLD_MS between ACK and BYE:
#                   see below)
#   MODE test     : dial-in, 50 calls/s for 60 s into 5 conferences of 10; exit 0 only
#                   with no failed call, tuttid alive, every conference closed afterwards and
#                   a clean stop
# Prints the achieved rate, failed calls, retransmissions and the CPU seconds of tuttid
# and of sipp over the run (the VM's two cores are shared by both). USERS (default 1000)
# users in all; PERF=FILE records a perf profile of tuttid; SYSCALLS=1 counts its system
# calls per thread; SIPP_EXTRA adds sipp options (e.g. -trace_msg); KEEP_TMP=1 keeps the
# run's folder (sipp's statistics CSVs and error logs).
set -u
tuttid=$1
tuttictl=$2
sipp=$3
mode=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../support/harness.sh"
tmp=$(make_tmp sipp-load)
pid=
trap stop_and_clean EXIT

case "$mode" in
  register) rate=${RATE:-5000}; secs=${SECONDS_:-30} ;;
  dialin) rate=${RATE:-200}; secs=${SECONDS_:-30} ;;
  test) rate=50; secs=60 ;;
  *) echo "unknown mode '$mode'"; exit 2 ;;
esac
users=${USERS:-1000}

# A block of COUNT UDP ports all free now, below the ephemeral range: one RTP port per
# participant (media_ports hands out even ports).
free_block() {
  python3 - "$1" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(50):
    base = random.randrange(12000, 30000 - count) & ~1
    held = []
    try:
        for p in range(base, base + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.append(s)
            s.bind(("127.0.0.1", p))
        print(f"{base}-{base + count - 1}")
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in held: s.close()
sys.exit(1)
PY
}
sip_port=$(free_port)
media_ports=$(free_block 2048) || { echo "no free block of media ports"; exit 1; }

start_tuttid "$media_ports" || exit 1

# Dial-in: SIPp's digest uri is one fixed -auth_uri per instance, so each conference gets
# its own SIPp instance: CONFS instances (default RATE/40) at RATE/CONFS calls/s each, each
# call held 10 / (RATE/CONFS) s so that ten callers are in each conference at a time.
if [ "$mode" = register ]; then
  confs=1
else
  confs=${CONFS:-$(( rate >= 40 ? rate / 40 : 1 ))}
  [ "$mode" = test ] && confs=5
  per_rate=$(( rate / confs ))
  hold_ms=${HOLD_MS:-$(( 10000 / per_rate ))}
fi
per_users=$(( users / confs ))

# Provision the users over one control connection (JSON lines, one request at a time) and
# write one injection file per instance: "user;[authentication username=.. password=..]".
# The whole keyword sits in the file: SIPp parses an injected [authentication] at run time,
# while it mis-parses a field nested inside the keyword in the scenario.
python3 - "$tmp/ctl.sock" "$per_users" "$confs" "$tmp" <<'PY' || { echo "provisioning failed"; exit 1; }
import json, socket, sys
path, n, confs, folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rw")
for k in range(confs):
    with open(f"{folder}/users{k}.csv", "w") as out:
        out.write("SEQUENTIAL\n")
        for i in range(n):
            name, pw = f"load{k:02d}u{i:05d}", f"pw{k}x{i:05d}"
            f.write(json.dumps({"id": i, "cmd": "user.add", "args": {"name": name, "password": pw}}) + "\n"); f.flush()
            r = json.loads(f.readline())
            if r.get("error"): sys.exit(f"user.add {name}: {r['error']}")
            out.write(f"{name};[authentication username={name} password={pw}]\n")
PY

cpu_ticks() { local st; read -r -a st < "/proc/$1/stat" 2>/dev/null || { echo 0; return; }; echo $((st[13] + st[14])); }
hz=$(getconf CLK_TCK)

t_tuttid0=$(cpu_ticks "$pid")
t0=$(date +%s.%N)
# PERF=FILE: a call-graph profile of tuttid over the run (perf record -g).
perf_pid=
[ -n "${PERF:-}" ] && { perf record -q -g -o "$PERF" -p "$pid" >/dev/null 2>&1 & perf_pid=$!; }
# SYSCALLS=1: system calls per thread of tuttid over the run (perf stat, raw_syscalls).
stat_pid=
[ -n "${SYSCALLS:-}" ] && { perf stat -e raw_syscalls:sys_enter --per-thread -p "$pid" -o "$tmp/syscalls.txt" >/dev/null 2>&1 & stat_pid=$!; }
spawned=()
for k in $(seq 0 $((confs - 1))); do
  lp=$(free_port)
  if [ "$mode" = register ]; then
    args=(-sf "$here/register_load.xml" -r "$rate" -m $((rate * secs)))
  else
    mp=$(free_port)
    args=(-sf "$here/dialin_load.xml" -r "$per_rate" -m $((per_rate * secs)) -d "$hold_ms"
          -s "conf$k" -auth_uri "conf$k@127.0.0.1:$sip_port" -mi 127.0.0.1 -mp "$mp")
  fi
  # timeout(1) as well: sipp's own -timeout does not end a call stuck retransmitting.
  (cd "$tmp" && exec timeout $((secs + 90)) "$sipp" "${args[@]}" -t u1 -i 127.0.0.1 -p "$lp" \
     -inf "$tmp/users$k.csv" -rp 1000 -l 10000 -timeout $((secs + 60))s -nostdin \
     -trace_err -error_file "$tmp/sipp_err$k.log" -trace_stat -stf "$tmp/stat$k.csv" -fd 1 \
     ${SIPP_EXTRA:-} "127.0.0.1:$sip_port" >"$tmp/sipp$k.out" 2>&1) &
  spawned+=($!)
done
# Each sipp's CPU time, sampled while it runs (its /proc entry goes when it exits).
declare -A t_sipp
running=1
while [ $running = 1 ]; do
  running=0
  for sp in "${spawned[@]}"; do
    kill -0 "$sp" 2>/dev/null || continue
    running=1
    for c in $(pgrep -P "$sp"); do
      t=$(cpu_ticks "$c"); [ "$t" -gt 0 ] && t_sipp[$sp]=$t
    done
  done
  sleep 0.5
done
rc=0
for sp in "${spawned[@]}"; do wait "$sp" || rc=$?; done
t1=$(date +%s.%N)
t_tuttid1=$(cpu_ticks "$pid")
[ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid"; }
[ -n "$stat_pid" ] && { kill -INT "$stat_pid"; wait "$stat_pid"; grep sys_enter "$tmp/syscalls.txt" | sed 's/^/syscalls: /'; }
sipp_ticks=0
for t in "${t_sipp[@]}"; do sipp_ticks=$((sipp_ticks + t)); done

python3 - "$tmp" "$confs" "$t0" "$t1" "$(( t_tuttid1 - t_tuttid0 ))" "$sipp_ticks" "$hz" "$rate" "$secs" "$mode" "${hold_ms:-0}" <<'PY'
import csv, sys
folder, confs, t0, t1, tt, ts, hz, rate, secs, mode, hold = sys.argv[1:]
ok = failed = retrans = 0
elapsed = 0.0
for k in range(int(confs)):
    rows = list(csv.reader(open(f"{folder}/stat{k}.csv"), delimiter=";"))
    head, last = rows[0], rows[-1]
    v = {key: last[i] for i, key in enumerate(head) if i < len(last)}
    ok += int(v["SuccessfulCall(C)"]); failed += int(v["FailedCall(C)"])
    retrans += int(v["Retransmissions(C)"])
    h, m, s = v["ElapsedTime(C)"].split(":")
    elapsed = max(elapsed, int(h) * 3600 + int(m) * 60 + float(s))
wall = float(t1) - float(t0)
what = "registrations" if mode == "register" else "calls"
print(f"mode {mode}: target {rate}/s for {secs} s ({int(rate) * int(secs)} {what}), {confs} sipp instance(s)"
      + ("" if mode == "register" else f", one conference each, hold {hold} ms"))
print(f"successful {ok}, failed {failed}, retransmissions {retrans}")
print(f"achieved {ok / elapsed:.0f} {what}/s over sipp's {elapsed:.1f} s (wall {wall:.1f} s)")
print(f"cpu seconds: tuttid {int(tt) / int(hz):.1f}, sipp {int(ts) / int(hz):.1f} "
      f"({100 * int(tt) / int(hz) / wall:.0f}% and {100 * int(ts) / int(hz) / wall:.0f}% of one core)")
PY
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sipp exit: $rc"
for e in "$tmp"/sipp_err*.log; do [ -s "$e" ] && { echo "sipp errors in $(basename "$e") (first lines):"; head -5 "$e"; echo; }; done

if [ "$mode" != test ]; then
  ctl call sip.status | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print('sip.status requests', r.get('requests'))"
  exit $rc
fi

fail=0
check() {  # name python-expression-on-r json
  if echo "$3" | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; sys.exit(0 if ($2) else 1)"; then
    echo "ok   $1"
  else
    echo "FAIL $1"; echo "$3" | head -c 2000; echo; fail=1
  fi
}
[ "$rc" = 0 ] && echo "ok   sipp: every call succeeded" || { echo "FAIL sipp exit $rc"; tail -20 "$tmp/sipp0.out"; fail=1; }
kill -0 "$pid" 2>/dev/null && echo "ok   tuttid alive" || { echo "FAIL tuttid died"; tail "$tmp/tuttid.out"; fail=1; }
calls=$(ctl call sip.calls)
check "every call joined and hung up" "r['joined'] == $((rate * secs)) and r['hangups'] == $((rate * secs)) and not r['calls']" "$calls"
# Removing a participant is asynchronous (the worker confirms), and so is closing the ad hoc
# conference the focus created for the first caller: give the last ones a moment.
for _ in $(seq 100); do
  conflist=$(ctl call conf.list)
  echo "$conflist" | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['result'] == [] else 1)" && break
  sleep 0.1
done
check "every ad hoc conference closed with its last caller" "r == []" "$conflist"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" = 0 ] && echo "ok   tuttid stops cleanly" || { echo "FAIL tuttid exit $st"; fail=1; }
exit $fail

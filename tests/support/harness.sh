# Shell pieces every test script that runs tuttid shares; source it:
#   . "$(dirname "$0")/../support/harness.sh"
# Everything stays on loopback and on ports the kernel hands out at run time (never 5060).

# A free port on 127.0.0.1, for UDP and TCP alike (SIP listens on both).
free_port() {
  python3 -c 'import socket
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(("127.0.0.1",0)); p=u.getsockname()[1]
t=socket.socket(); t.bind(("127.0.0.1",p)); print(p)'
}

# A scratch directory named after the test (not /tmp/tmp.*, which other cleanups sweep).
make_tmp() {  # name
  mktemp -d "${TMPDIR:-/tmp}/tutti-$1.XXXXXX"
}

# Waits until tuttid's control socket exists (up to 10 s); on failure prints its log.
wait_for_socket() {  # socket log
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
  echo "tuttid did not start"
  cat "$2"
  return 1
}

# Starts $tuttid with SIP on 127.0.0.1:$sip_port, its state, control socket and log
# (appended) in $tmp, digest challenges MD5 first (SIPp 3.6 answers only the first), the
# given media port range and any further flags; sets pid and waits for the control socket.
start_tuttid() {  # media-ports [flag...]
  local ports=$1
  shift
  rm -f "$tmp/ctl.sock"
  "$tuttid" --sip "127.0.0.1:$sip_port" --control-socket "$tmp/ctl.sock" --state-dir "$tmp" \
    --media-ports "$ports" --metrics off --log-level warn --sip-auth-order md5-first "$@" >>"$tmp/tuttid.out" 2>&1 &
  pid=$!
  wait_for_socket "$tmp/ctl.sock" "$tmp/tuttid.out"
}

# tuttictl against the test's tuttid, JSON output (the caller sets $tuttictl and $tmp).
ctl() { "$tuttictl" --socket "$tmp/ctl.sock" --json "$@"; }

# The end of every test's cleanup: stops tuttid ($pid) and removes $tmp (KEEP_TMP=1 keeps it).
stop_and_clean() {
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  [ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}

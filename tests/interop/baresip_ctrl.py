#!/usr/bin/env python3
"""Sends one command to a baresip's ctrl_tcp module and prints its answer (colours removed).

usage: baresip_ctrl.py PORT COMMAND [PARAMS...]
ctrl_tcp speaks netstrings of JSON: {"command", "params", "token"} in; the answer has
"response": true, "ok" and "data" (what the menu command printed). Events that arrive
before the answer are skipped. Exit 1 when baresip answers not ok or not at all (5 s).
"""
import json
import re
import socket
import sys


def main():
    port, command = int(sys.argv[1]), sys.argv[2]
    params = " ".join(sys.argv[3:])
    req = json.dumps({"command": command, "params": params, "token": "tutti"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(str(len(req)).encode() + b":" + req + b",")
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return 1
            buf += chunk
            while b":" in buf:
                head, rest = buf.split(b":", 1)
                n = int(head)
                if len(rest) < n + 1:
                    break
                obj, buf = json.loads(rest[:n]), rest[n + 1:]
                if obj.get("response"):
                    sys.stdout.write(re.sub(r"\x1b\[[0-9;]*m", "", obj.get("data", "")))
                    return 0 if obj.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

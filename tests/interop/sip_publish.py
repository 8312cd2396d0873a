#!/usr/bin/env python3
"""A second device of a user publishing presence: one PUBLISH (RFC 3903) over UDP on loopback,
answered 401 and sent again with MD5 digest credentials (RFC 2617, qop=auth). Prints the
final status and the SIP-ETag. baresip 1.0 publishes only basic open/closed; this stands in
for a client that publishes an RPID activity (RFC 4480).

usage: sip_publish.py PORT USER PASSWORD DOMAIN ACTIVITY|- [ETAG-TO-REMOVE]
ACTIVITY: an RPID activity element name (busy, away, ...); with ETAG and "-": Expires: 0.
"""
import hashlib
import os
import re
import socket
import sys

port, user, password, domain, activity = sys.argv[1:6]
etag = sys.argv[6] if len(sys.argv) > 6 else ""
uri = "sip:%s@%s" % (user, domain)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
local = s.getsockname()[1]
call_id = os.urandom(8).hex()

if activity == "-":
    body, expires = "", 0
else:
    expires = 600
    body = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
            'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="%s">\r\n'
            '<tuple id="phone2"><status><basic>open</basic></status><contact>%s</contact></tuple>\r\n'
            '<dm:person id="p2"><rpid:activities><rpid:%s/></rpid:activities></dm:person>\r\n'
            '</presence>\r\n') % (uri, uri, activity)


def request(cseq, authorization):
    head = ["PUBLISH %s SIP/2.0" % uri,
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport" % (local, os.urandom(6).hex()),
            "Max-Forwards: 70", "From: <%s>;tag=pub2" % uri, "To: <%s>" % uri,
            "Call-ID: %s" % call_id, "CSeq: %d PUBLISH" % cseq, "Event: presence",
            "Expires: %d" % expires]
    if etag:
        head.append("SIP-If-Match: %s" % etag)
    if authorization:
        head.append("Authorization: " + authorization)
    if body:
        head.append("Content-Type: application/pidf+xml")
    head.append("Content-Length: %d" % len(body.encode()))
    s.sendto(("\r\n".join(head) + "\r\n\r\n" + body).encode(), ("127.0.0.1", int(port)))
    while True:
        text = s.recv(65536).decode(errors="replace")
        status = int(text.split(" ", 2)[1])
        if status >= 200:
            return status, text


def header(text, name):
    m = re.search(r"^%s:\s*(.*?)\r$" % name, text, re.M | re.I)
    return m.group(1) if m else ""


def md5(x):
    return hashlib.md5(x.encode()).hexdigest()


status, text = request(1, "")
if status == 401:
    ch = header(text, "WWW-Authenticate")
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', ch))
    cnonce, nc = os.urandom(4).hex(), "00000001"
    resp = md5(":".join([md5("%s:%s:%s" % (user, p["realm"], password)), p["nonce"], nc, cnonce, "auth",
                         md5("PUBLISH:" + uri)]))
    auth = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, '
            'cnonce="%s", qop=auth, nc=%s') % (user, p["realm"], p["nonce"], uri, resp, cnonce, nc)
    if "opaque" in p:
        auth += ', opaque="%s"' % p["opaque"]
    status, text = request(2, auth)
print(status, header(text, "SIP-ETag"))
sys.exit(0 if 200 <= status < 300 else 1)

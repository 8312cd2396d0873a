#!/usr/bin/env python3
"""Writes the seed corpora of the rtp and rtcp fuzz targets (corpus/rtp, corpus/rtcp).

Valid packets of each shape the parsers know plus a few edge cases that must be dropped.
Run from anywhere; the files are committed, rerun only to change them."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def rtp(pt=0, marker=False, seq=1, ts=160, ssrc=0x11223344, csrcs=(), ext=None, payload=b"\xff" * 160,
        pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrcs)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if ext is not None:
        profile, data = ext
        assert len(data) % 4 == 0
        out += struct.pack("!HH", profile, len(data) // 4) + data
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def rtcp_header(count, pt, body, padded=False):
    return struct.pack("!BBH", 0x80 | (0x20 if padded else 0) | count, pt, len(body) // 4) + body


def block(ssrc, fraction=0, lost=0, ext_seq=0, jitter=0, lsr=0, dlsr=0):
    return struct.pack("!IB", ssrc, fraction) + (lost & 0xFFFFFF).to_bytes(3, "big") + \
        struct.pack("!IIII", ext_seq, jitter, lsr, dlsr)


def sr(ssrc, blocks=()):
    body = struct.pack("!IQIII", ssrc, 0xE1234567_89ABCDEF, 160000, 1000, 160000) + b"".join(blocks)
    return rtcp_header(len(blocks), 200, body)


def rr(ssrc, blocks=()):
    return rtcp_header(len(blocks), 201, struct.pack("!I", ssrc) + b"".join(blocks))


def sdes(chunks):
    body = b""
    for ssrc, items in chunks:
        c = struct.pack("!I", ssrc) + b"".join(bytes([t, len(v)]) + v for t, v in items) + b"\x00"
        c += b"\x00" * (-len(c) % 4)
        body += c
    return rtcp_header(len(chunks), 202, body)


def bye(ssrcs, reason=b""):
    body = b"".join(struct.pack("!I", s) for s in ssrcs)
    if reason:
        r = bytes([len(reason)]) + reason
        body += r + b"\x00" * (-len(r) % 4)
    return rtcp_header(len(ssrcs), 203, body)


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def main():
    level = (0xBEDE, bytes([0x10, 0x80 | 30, 0, 0]))
    write("rtp", "pcmu_20ms", rtp())
    write("rtp", "opus_marker_level", rtp(pt=111, marker=True, ext=level, payload=bytes(range(60))))
    write("rtp", "one_byte_ext_padding", rtp(pt=96, ext=(0xBEDE, bytes(
        [0x10, 0x05, 0x00, 0x00, 0x22, 1, 2, 3, 0x00, 0xF0, 0x30, 0x7F])), payload=b"\x01\x02"))
    write("rtp", "two_byte_ext", rtp(pt=96, ext=(0x1003, bytes(
        [0x01, 0x00, 0x00, 0xC8, 0x03, 9, 8, 7, 0x05, 0x01, 0x9E, 0x00])), payload=b"\x10" * 20))
    write("rtp", "csrc15_level", rtp(pt=0, csrcs=range(1, 16), ext=level))
    write("rtp", "padded", rtp(pt=8, payload=b"\xd5" * 13, pad=3))
    write("rtp", "dtmf_start", rtp(pt=101, marker=True, ts=8000, payload=bytes([5, 10, 0, 160])))
    write("rtp", "dtmf_end", rtp(pt=101, ts=8000, payload=bytes([5, 0x80 | 10, 0x03, 0x20])))
    write("rtp", "drop_all_padding", rtp(payload=b"", pad=4))
    write("rtp", "drop_ext_one_past", rtp(ext=(0xBEDE, bytes(4)), payload=b"")[:-1])
    write("rtp", "drop_rtcp_type", rtp(pt=72, marker=True, payload=b"\x00" * 8))

    cname = [(0x5EED0001, [(1, b"mixer@tutti")])]
    b1 = block(0x11223344, 64, -3, 0x0001FFFF, 120, 0xAABBCCDD, 0x00018000)
    b2 = block(0x55667788, 255, 0x7FFFFF, 42)
    write("rtcp", "sr_sdes", sr(0x5EED0001, [b1]) + sdes(cname))
    write("rtcp", "sr_sdes_bye", sr(0x5EED0001, [b1, b2]) + sdes(cname) +
          bye([0x5EED0001, 0x5EED0002], b"conference ended"))
    write("rtcp", "rr_empty_sdes", rr(0x11223344) + sdes([(0x11223344, [(1, b"alice@example.com"),
                                                                        (2, b"Alice")])]))
    padded_bye = bye([0x11223344])
    padded_bye = bytes([padded_bye[0] | 0x20, padded_bye[1]]) + struct.pack("!H", 2) + \
        padded_bye[4:] + b"\x00\x00\x00\x04"
    write("rtcp", "rr_bye_padded", rr(0x11223344, [b2]) + padded_bye)
    write("rtcp", "rr_app_chunks", rr(1, [b1]) + rtcp_header(0, 204, b"\x00\x00\x00\x01name1234") +
          sdes([(1, [(1, b"a")]), (2, []), (3, [(1, b"ccc"), (6, b"tool")])]))
    write("rtcp", "rr_feedback", rr(1) + rtcp_header(1, 205, struct.pack("!II", 1, 2)))
    write("rtcp", "drop_sdes_first", sdes(cname) + rr(1))
    write("rtcp", "drop_bad_length", rr(1)[:3] + b"\x05" + rr(1)[4:])


if __name__ == "__main__":
    main()

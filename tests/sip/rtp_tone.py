#!/usr/bin/env python3
"""Sends a loud 440 Hz tone as PCMU RTP (20 ms frames, paced by the clock) from 127.0.0.1
to HOST:PORT until the file STOP exists (or 30 s pass), so a conference participant
becomes a speaker. usage: rtp_tone.py HOST PORT STOP"""
import math
import os
import socket
import struct
import sys
import time


def ulaw(sample):
    # G.711 mu-law encoding of one 16-bit linear sample.
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def main():
    host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # One second of tone: 440 Hz divides 8000 Hz evenly over 50 frames.
    tone = bytes(ulaw(int(12000 * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(8000))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    seq, ts, ssrc = 1, 0, 0x7E57
    start = time.monotonic()
    frame = 0
    while not os.path.exists(stop) and time.monotonic() - start < 30:
        payload = tone[(frame % 50) * 160:(frame % 50 + 1) * 160]
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload, (host, port))
        seq, ts, frame = seq + 1, ts + 160, frame + 1
        delay = start + frame * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Levels (dBFS) of given tone frequencies in a 16-bit mono WAV, by Goertzel over whole
seconds after a settling time. Prints one JSON object {"FREQ": dBFS, ...}.

usage: tone_levels.py FILE.wav SKIP_SECONDS[:SECONDS] FREQ...
"""
import json
import math
import struct
import sys
import wave


def goertzel_dbfs(samples, rate, freq):
    # Amplitude of one frequency component, relative to a full-scale sine (0 dBFS).
    n = len(samples)
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + k * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / n
    return 20 * math.log10(max(amplitude / 32768.0, 1e-9))


def main():
    path = sys.argv[1]
    skip, _, length = sys.argv[2].partition(":")
    skip = float(skip)
    freqs = [float(f) for f in sys.argv[3:]]
    w = wave.open(path, "rb")
    if w.getsampwidth() != 2 or w.getnchannels() != 1:
        sys.exit("need 16-bit mono")
    rate = w.getframerate()
    raw = w.readframes(w.getnframes())
    samples = struct.unpack("<%dh" % (len(raw) // 2), raw)[int(skip * rate):]
    whole = (len(samples) // rate) * rate  # whole seconds: every test tone fits a whole number of cycles
    if length:
        whole = min(whole, int(float(length)) * rate)
    samples = samples[:whole]
    if not samples:
        sys.exit("too short")
    print(json.dumps({"seconds": whole // rate,
                      "levels": {str(int(f)): round(goertzel_dbfs(samples, rate, f), 1) for f in freqs}}))


if __name__ == "__main__":
    main()

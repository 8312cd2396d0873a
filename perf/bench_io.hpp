// Loopback throughput benchmark of the packet I/O backends (perf/bench_io.cpp): prints JSON.
#pragma once

// Runs the I/O scenarios; argv as for a program (--seconds S, --reps N, --only NAME).
int bench_io_main(int argc, char** argv);

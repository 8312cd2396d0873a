// tutti-bench dpdk: the DPDK backend on a net_ring virtual device, Mpps per lcore.
#pragma once

int bench_dpdk_main(int argc, char** argv);

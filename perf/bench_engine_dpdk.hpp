// tutti-bench engine-dpdk: participants per core of the media engine with every packet
// carried as Ethernet/IPv4/UDP frames through dpdk_io on a net_ring virtual device, against
// the engine-only figure measured in the same run.
#pragma once

#include <span>
#include <string_view>

namespace tutti::perf {

// Runs the subcommand with the arguments after its name; returns the exit status.
int run_engine_dpdk(std::span<const std::string_view> args);

}  // namespace tutti::perf

// tuttid: the tutti appliance (control plane and data-plane workers in one process).
// Everything is in control/daemon.cpp; see there for the exit statuses.
#include "control/daemon.hpp"

int main(int argc, char** argv) { return tutti::ctl::run_tuttid(argc, argv); }

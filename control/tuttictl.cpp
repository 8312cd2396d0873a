// tuttictl: the operator CLI. Maps its command line to one control API request (the table
// is in control/cli.cpp), sends it to tuttid's Unix socket and prints the answer: a human
// table by default, the raw JSON response with --json. Exit statuses: see cli.hpp.
#include <boost/json/serialize.hpp>
#include <cstring>
#include <iostream>

#include "control/cli.hpp"
#include "control/control_client.hpp"

using namespace tutti::ctl;

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--bash-completion") == 0) {
      std::cout << bash_completion();
      return cli_ok;
    }
  auto req = parse_cli(argc, argv);
  if (!req) {
    std::cerr << "tuttictl: " << req.error() << "\n(see tuttictl --help)\n";
    return cli_usage_error;
  }
  if (req->help) {
    std::cout << (req->command ? cli_command_usage(*req->command) : cli_usage());
    return cli_ok;
  }
  auto client = control_client::connect(req->socket);
  if (!client) {
    std::cerr << "tuttictl: " << client.error().message << "\n";
    return cli_unreachable;
  }
  auto response = client->call(req->api, req->args, req->timeout_ms);
  if (!response) {
    std::cerr << "tuttictl: " << response.error().message << "\n";
    return cli_unreachable;
  }
  auto outcome = response_outcome(*response);
  if (req->json) std::cout << boost::json::serialize(*response) << "\n";
  if (outcome) {
    if (!req->json) std::cout << render_human(*outcome);
    return cli_ok;
  }
  if (!req->json)
    std::cerr << "tuttictl: " << outcome.error().code << ": " << outcome.error().message << "\n";
  return cli_exit_for(outcome.error().code);
}

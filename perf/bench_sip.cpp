// tutti-bench sip. Model: a batch of REGISTERs from N users is prepared outside the timed
// region (for the authorized path: each with a live nonce, increasing nonce-count and CSeq,
// and the response a client would compute); a round times the server side of the whole
// batch in thread CPU time. Rounds are repeated; median and spread go out as JSON lines.
// Built with -DTUTTI_BENCH_SIP_MAIN it is its own program (tutti-bench-sip).
#include "perf/bench_sip.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "perf/bench_util.hpp"
#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/registrar.hpp"

namespace tutti::perf {

namespace {

using namespace tutti::sig;

constexpr uint64_t bench_now_s = 1'700'000'000;

struct options {
  size_t users = 1000;
  size_t requests = 20000;  // per round
  size_t rounds = 9;
};

std::string register_text(size_t user, uint32_t cseq, std::string_view authorization) {
  const std::string u = "user" + std::to_string(user);
  std::string m = "REGISTER sip:example.com SIP/2.0\r\n";
  m += "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK" + std::to_string(cseq) + "x" + u + "\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "To: <sip:" + u + "@example.com>\r\n";
  m += "From: <sip:" + u + "@example.com>;tag=a73kszlfl\r\n";
  m += "Call-ID: 1j9FpLxk3uxtm8tn@" + u + "\r\n";
  m += "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  m += "Contact: <sip:" + u + "@192.0.2.10:5060;transport=udp>;expires=600\r\n";
  m += "User-Agent: tutti-bench\r\n";
  if (!authorization.empty()) m.append("Authorization: ").append(authorization).append("\r\n");
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

struct server {
  memory_credentials users;
  location_service locations;
  authenticator auth;
  registrar reg;
  explicit server(size_t n)
      : auth((fill(users, n), auth_config{"example.com", "bench secret", 300, 65536, false, true}), users),
        reg(registrar_config{{"example.com"}, 3600, 60, 3600, 10}, locations) {}
  static void fill(memory_credentials& u, size_t n) {
    for (size_t i = 0; i < n; ++i) u.add_password("user" + std::to_string(i), "example.com", "pw" + std::to_string(i));
  }
};

request_context context() {
  request_context c;
  c.now_s = bench_now_s;
  c.transport = "udp";
  c.source_ip = "198.51.100.7";
  c.source_port = 40000;
  c.to_tag = "8a7f2c";
  return c;
}

// One round over prepared requests: ns of thread CPU per request. Counts outcomes so a
// broken setup (everything refused) cannot pass as fast.
double time_round(server& s, const std::vector<std::string>& batch, auth_status expect, size_t& unexpected) {
  const request_context ctx = context();
  size_t bytes = 0;
  const uint64_t t = thread_cpu_ns();
  for (const std::string& text : batch) {
    auto m = parse_message(text);
    if (!m) {
      ++unexpected;
      continue;
    }
    auth_outcome o = s.auth.check(*m, ctx);
    if (o.status != expect) ++unexpected;
    if (o.status == auth_status::ok) {
      const register_result r = s.reg.handle(*m, ctx);
      if (r.status != 200) ++unexpected;
      bytes += r.response.size();
    } else {
      bytes += o.response.size();
    }
  }
  const uint64_t dt = thread_cpu_ns() - t;
  do_not_optimize(bytes);
  return static_cast<double>(dt) / static_cast<double>(batch.size());
}

void report(const char* scenario, const std::vector<double>& ns, size_t unexpected) {
  const summary s = summarize(ns);
  std::printf(
      "{\"bench\":\"sip\",\"scenario\":\"%s\",\"ns_per_request\":{\"median\":%.0f,\"p10\":%.0f,\"p90\":%.0f},"
      "\"requests_per_s\":%.0f,\"rounds\":%zu,\"unexpected\":%zu}\n",
      scenario, s.median, s.p10, s.p90, 1e9 / s.median, s.samples, unexpected);
}

bool parse_size(std::string_view v, size_t& out) {
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  return r.ec == std::errc() && r.ptr == v.data() + v.size() && out > 0;
}

}  // namespace

int run_sip(std::span<const std::string_view> args) {
  options opt;
  for (size_t i = 0; i < args.size(); i += 2) {
    size_t* target = args[i] == "--users" ? &opt.users : args[i] == "--requests" ? &opt.requests
                     : args[i] == "--rounds" ? &opt.rounds : nullptr;
    if (!target || i + 1 == args.size() || !parse_size(args[i + 1], *target)) {
      std::fprintf(stderr, "usage: tutti-bench sip [--users N] [--requests N] [--rounds N]\n");
      return 2;
    }
  }
  server s(opt.users);
  std::vector<uint32_t> cseq(opt.users, 1);

  // 401 path: REGISTER without credentials.
  std::vector<std::string> plain;
  for (size_t i = 0; i < opt.requests; ++i) plain.push_back(register_text(i % opt.users, 1, {}));
  std::vector<double> challenge_ns;
  size_t unexpected = 0;
  for (size_t r = 0; r < opt.rounds; ++r) challenge_ns.push_back(time_round(s, plain, auth_status::challenge, unexpected));
  report("register-401", challenge_ns, unexpected);

  // Authorized path: a nonce per request (as after a 401), the client's response computed here.
  std::vector<double> ok_ns[2];
  size_t ok_unexpected[2] = {0, 0};
  const digest_algorithm algs[2] = {digest_algorithm::sha256, digest_algorithm::md5};
  for (size_t r = 0; r < opt.rounds; ++r)
    for (int a = 0; a < 2; ++a) {
      std::vector<std::string> batch;
      batch.reserve(opt.requests);
      for (size_t i = 0; i < opt.requests; ++i) {
        const size_t u = i % opt.users;
        const std::string name = "user" + std::to_string(u);
        digest_credentials c;
        c.username = name;
        c.realm = "example.com";
        c.nonce = s.auth.make_nonce(bench_now_s);
        c.uri = "sip:example.com";
        c.cnonce = "0a4f113b";
        c.opaque = std::string(s.auth.opaque());
        c.qop = "auth";
        c.nc = "00000001";
        c.nc_value = 1;
        c.algorithm = algs[a];
        const std::string ha1 = digest_ha1(algs[a], name, "example.com", "pw" + std::to_string(u));
        c.response = digest_response(algs[a], ha1, digest_input{"REGISTER", c.uri, c.nonce, c.nc, c.cnonce, c.qop, {}});
        batch.push_back(register_text(u, ++cseq[u], format_credentials(c)));
      }
      ok_ns[a].push_back(time_round(s, batch, auth_status::ok, ok_unexpected[a]));
    }
  report("register-200-sha256", ok_ns[0], ok_unexpected[0]);
  report("register-200-md5", ok_ns[1], ok_unexpected[1]);
  // A registration with a challenge every time: one 401 round trip plus one authorized.
  const double full = summarize(challenge_ns).median + summarize(ok_ns[0]).median;
  std::printf("{\"bench\":\"sip\",\"scenario\":\"register-401+200-sha256\",\"ns_per_registration\":%.0f,"
              "\"registrations_per_s\":%.0f,\"bindings\":%zu}\n",
              full, 1e9 / full, s.locations.binding_count());
  return (unexpected + ok_unexpected[0] + ok_unexpected[1]) == 0 ? 0 : 1;
}

}  // namespace tutti::perf

#ifdef TUTTI_BENCH_SIP_MAIN
int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return tutti::perf::run_sip(args);
}
#endif

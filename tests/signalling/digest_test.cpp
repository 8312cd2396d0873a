// Digest authentication: RFC 7616 §3.9.1 (MD5, SHA-256) and RFC 2617 §3.5 vectors, header
// parsing and writing. Values not printed in an RFC were computed independently with
// Python's hashlib.
#include <catch2/catch.hpp>

#include "signalling/digest.hpp"

using namespace tutti::sig;

namespace {

const char* rfc7616_authorization(const char* algorithm, const char* response) {
  static std::string s;
  s = std::string("Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\",\r\n uri=\"/dir/index.html\",\r\n"
                  " algorithm=") +
      algorithm +
      ",\r\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n nc=00000001,\r\n"
      " cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n qop=auth,\r\n response=\"" +
      response + "\",\r\n opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
  return s.c_str();
}

}  // namespace

TEST_CASE("Digest: RFC 7616 3.9.1 MD5 and SHA-256 examples", "[signalling][digest]") {
  const std::string challenge =
      "Digest\r\n realm=\"http-auth@example.org\",\r\n qop=\"auth, auth-int\",\r\n algorithm=SHA-256,\r\n"
      " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
  auto c = parse_challenge(challenge);
  REQUIRE(c);
  CHECK(c->realm == "http-auth@example.org");
  CHECK(c->algorithm == digest_algorithm::sha256);
  CHECK(c->qop_auth);
  CHECK(c->qop_auth_int);
  CHECK(c->nonce == "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
  CHECK(c->opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  CHECK_FALSE(c->stale);

  struct {
    const char* name;
    digest_algorithm alg;
    const char* response;
  } const cases[] = {
      {"MD5", digest_algorithm::md5, "8ca523f5e9506fed4657c9700eebdbec"},
      {"SHA-256", digest_algorithm::sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    const std::string ha1 = digest_ha1(k.alg, "Mufasa", "http-auth@example.org", "Circle of Life");
    const digest_input in{"GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
                          "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", {}};
    CHECK(digest_response(k.alg, ha1, in) == k.response);

    auto cred = parse_credentials(rfc7616_authorization(k.name, k.response));
    REQUIRE(cred);
    CHECK(cred->username == "Mufasa");
    CHECK(cred->uri == "/dir/index.html");
    CHECK(cred->algorithm == k.alg);
    CHECK(cred->nc == "00000001");
    CHECK(cred->nc_value == 1);
    CHECK(cred->qop == "auth");
    CHECK(digest_verify(*cred, "GET", ha1));
    CHECK_FALSE(digest_verify(*cred, "POST", ha1));
    CHECK_FALSE(digest_verify(*cred, "GET", digest_ha1(k.alg, "Mufasa", "http-auth@example.org", "circle of life")));
  }
}

TEST_CASE("Digest: RFC 2617 3.5 example", "[signalling][digest]") {
  auto cred = parse_credentials(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
      "uri=\"/dir/index.html\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
      "response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  REQUIRE(cred);
  CHECK(cred->algorithm == digest_algorithm::md5);
  const std::string ha1 = digest_ha1(digest_algorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  CHECK(digest_verify(*cred, "GET", ha1));
}

TEST_CASE("Digest: -sess, auth-int, no qop, SHA-512-256 and userhash", "[signalling][digest]") {
  const std::string ha1 = digest_ha1(digest_algorithm::sha256, "bob", "tutti", "secret");
  CHECK(digest_response(digest_algorithm::sha256_sess, ha1,
                        {"REGISTER", "sip:tutti", "n1", "00000002", "c1", "auth", {}}) ==
        "edcce9cb2b40e9c4a2461f9cdd0c09bd506e75095ba2b40400a7b2169d708342");
  const std::string md5 = digest_ha1(digest_algorithm::md5, "bob", "tutti", "secret");
  CHECK(digest_response(digest_algorithm::md5, md5, {"INVITE", "sip:x@y", "n1", "00000001", "c1", "auth-int", "hello"}) ==
        "4b0ee39e6dc57d962477cfb4288604c2");
  CHECK(digest_response(digest_algorithm::md5, md5, {"REGISTER", "sip:tutti", "n1", {}, {}, {}, {}}) ==
        "aadea3c5f6cff05a15afbe2854f32218");
  CHECK(digest_hash(digest_algorithm::sha512_256, "abc") ==
        "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  CHECK(digest_userhash(digest_algorithm::sha256, "Mufasa", "http-auth@example.org") ==
        "a947aad205e80e429958a387394944c6b496301e79f89d35a4cc23b6ee12b5b6");
  CHECK(digest_userhash(digest_algorithm::sha512_256, "J\xC3\xA4s\xC3\xB8n Doe", "api@example.org") ==
        "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");

  // RFC 7616 §3.4.4: username* in RFC 8187 extended notation.
  auto cred = parse_credentials(
      "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", uri=\"/doe.json\", "
      "algorithm=SHA-512-256, nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", nc=00000001, "
      "cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\", qop=auth, "
      "response=\"ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd\", userhash=false");
  REQUIRE(cred);
  CHECK(cred->username == "J\xC3\xA4s\xC3\xB8n Doe");
  CHECK(cred->algorithm == digest_algorithm::sha512_256);
}

TEST_CASE("Digest: malformed headers are refused", "[signalling][digest]") {
  CHECK(parse_credentials("NoOneKnowsThisScheme opaque-data=here").error() == digest_error::not_digest);
  CHECK(parse_challenge("Basic realm=\"x\"").error() == digest_error::not_digest);
  CHECK(parse_challenge("Digest nonce=\"n\"").error() == digest_error::missing_param);
  CHECK(parse_challenge("Digest realm=\"a\", realm=\"b\", nonce=\"n\"").error() == digest_error::duplicate_param);
  CHECK(parse_challenge("Digest realm=\"a\", nonce=\"n\", algorithm=SHA-1").error() == digest_error::unknown_algorithm);
  CHECK(parse_challenge("Digest realm=\"unterminated, nonce=\"n\"").error() == digest_error::malformed);
  CHECK(parse_challenge("Digest realm").error() == digest_error::malformed);
  CHECK(parse_challenge("Digestrealm=\"a\"").error() == digest_error::not_digest);
  const std::string base = "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:r\", ";
  CHECK(parse_credentials(base + "response=\"0123\"").error() == digest_error::bad_value);
  CHECK(parse_credentials(base + "response=\"0123456789abcdef0123456789abcdef\", qop=auth").error() ==
        digest_error::missing_param);
  CHECK(parse_credentials(base + "response=\"0123456789abcdef0123456789abcdef\", qop=auth, cnonce=\"c\", nc=1")
            .error() == digest_error::bad_value);
  CHECK(parse_credentials(base + "response=\"0123456789abcdef0123456789abcdef\", username*=UTF-8''x").error() ==
        digest_error::duplicate_param);
  CHECK(parse_credentials(base + "response=\"0123456789ABCDEF0123456789ABCDEF\""));  // hex case is free
}

TEST_CASE("Digest: challenges and credentials written and read back", "[signalling][digest]") {
  digest_challenge c;
  c.realm = "tutti \"main\"";
  c.nonce = "abc";
  c.opaque = "op";
  c.algorithm = digest_algorithm::sha256;
  c.qop_auth = true;
  c.stale = true;
  const std::string text = format_challenge(c);
  CHECK(text == R"(Digest realm="tutti \"main\"", nonce="abc", opaque="op", algorithm=SHA-256, qop="auth", stale=true)");
  auto back = parse_challenge(text);
  REQUIRE(back);
  CHECK(back->realm == c.realm);
  CHECK(back->stale);
  CHECK(back->algorithm == digest_algorithm::sha256);

  digest_credentials k;
  k.username = "alice";
  k.realm = "tutti";
  k.nonce = "abc";
  k.uri = "sip:tutti.example.com";
  k.algorithm = digest_algorithm::sha256;
  k.qop = "auth";
  k.nc = "0000000a";
  k.cnonce = "xyz";
  const std::string ha1 = digest_ha1(k.algorithm, "alice", "tutti", "pw");
  k.response = digest_response(k.algorithm, ha1, {"REGISTER", k.uri, k.nonce, k.nc, k.cnonce, k.qop, {}});
  auto parsed = parse_credentials(format_credentials(k));
  REQUIRE(parsed);
  CHECK(parsed->nc_value == 10);
  CHECK(digest_verify(*parsed, "REGISTER", ha1));
  CHECK(lookup_digest_algorithm("sha-512-256-SESS") == std::optional<digest_algorithm>(digest_algorithm::sha512_256_sess));
  CHECK(to_string(digest_algorithm::md5_sess) == "MD5-sess");
}

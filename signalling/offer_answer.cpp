#include "signalling/offer_answer.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tutti::sig {

namespace {

constexpr std::string_view audio_level_uri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<uint8_t> payload_type_of(const std::string& format) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(format.data(), format.data() + format.size(), v);
  if (ec != std::errc() || p != format.data() + format.size() || v > 127) return std::nullopt;
  return static_cast<uint8_t>(v);
}

// The codec a payload type names in this m= line: its rtpmap, else the static assignments
// of RFC 3551 §6 (0 PCMU, 8 PCMA).
std::optional<audio_codec> codec_of(const sdp::media_description& m, uint8_t pt) {
  if (const sdp::rtpmap* map = m.find_rtpmap(pt)) {
    if (iequals(map->encoding, "PCMU") && map->clock_rate == 8000) return audio_codec::pcmu;
    if (iequals(map->encoding, "PCMA") && map->clock_rate == 8000) return audio_codec::pcma;
    // RFC 7587 §7: always opus/48000/2, whatever the stream actually carries.
    if (iequals(map->encoding, "opus") && map->clock_rate == 48000) return audio_codec::opus;
    return std::nullopt;
  }
  if (pt == 0) return audio_codec::pcmu;
  if (pt == 8) return audio_codec::pcma;
  return std::nullopt;
}

bool plain_rtp(const std::string& proto) { return proto == "RTP/AVP" || proto == "RTP/AVPF"; }

bool ipv4(const std::string& a) {
  in_addr x{};
  return inet_pton(AF_INET, a.c_str(), &x) == 1;
}

sdp::direction mirror(sdp::direction d) {
  switch (d) {
    case sdp::direction::sendonly: return sdp::direction::recvonly;
    case sdp::direction::recvonly: return sdp::direction::sendonly;
    default: return d;
  }
}

}  // namespace

const char* to_string(audio_codec c) noexcept {
  switch (c) {
    case audio_codec::pcmu: return "pcmu";
    case audio_codec::pcma: return "pcma";
    case audio_codec::opus: return "opus";
  }
  return "unknown";
}

const char* to_string(offer_error e) noexcept {
  switch (e) {
    case offer_error::no_audio: return "no audio stream offered";
    case offer_error::no_common_codec: return "no common audio codec (PCMU, PCMA, Opus)";
    case offer_error::no_address: return "no IPv4 connection address for the audio stream";
    case offer_error::refused: return "the audio stream was refused";
  }
  return "unknown";
}

result<negotiated_audio, offer_error> negotiate_audio(const sdp::session_description& offer,
                                                      const audio_policy& policy) {
  bool saw_audio = false;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const sdp::media_description& m = offer.media[i];
    if (m.media != "audio" || !plain_rtp(m.proto)) continue;
    saw_audio = true;
    // Our preference decides among what the offer lists (RFC 3264 §6.1 lets the answerer pick).
    std::optional<std::pair<audio_codec, uint8_t>> best;
    size_t best_rank = policy.codecs.size();
    uint8_t dtmf_pt = 0;
    for (const std::string& f : m.formats) {
      const auto pt = payload_type_of(f);
      if (!pt) continue;
      if (const sdp::rtpmap* map = m.find_rtpmap(*pt);
          map && iequals(map->encoding, "telephone-event") && map->clock_rate == 8000 && !dtmf_pt)
        dtmf_pt = *pt;
      const auto codec = codec_of(m, *pt);
      if (!codec) continue;
      const size_t rank = static_cast<size_t>(
          std::find(policy.codecs.begin(), policy.codecs.end(), *codec) - policy.codecs.begin());
      if (rank < best_rank) {
        best_rank = rank;
        best = std::make_pair(*codec, *pt);
      }
    }
    if (!best) continue;
    negotiated_audio n;
    n.media_index = i;
    n.codec = best->first;
    n.payload_type = best->second;
    // telephone-event at 8 kHz suits G.711; with Opus its clock must be 48 kHz (RFC 4733 §2.1).
    if (policy.telephone_event) {
      for (const std::string& f : m.formats) {
        const auto pt = payload_type_of(f);
        const sdp::rtpmap* map = pt ? m.find_rtpmap(*pt) : nullptr;
        if (map && iequals(map->encoding, "telephone-event") &&
            map->clock_rate == (n.codec == audio_codec::opus ? 48000u : 8000u)) {
          n.telephone_event_pt = *pt;
          break;
        }
      }
    }
    if (policy.audio_level) {
      auto find_level = [&](const std::vector<sdp::extmap>& maps) {
        for (const auto& e : maps)
          if (e.uri == audio_level_uri && e.id >= 1 && e.id <= 14) return static_cast<uint8_t>(e.id);
        return uint8_t{0};
      };
      n.audio_level_ext_id = find_level(m.extmaps);
      if (!n.audio_level_ext_id) n.audio_level_ext_id = find_level(offer.extmaps);
    }
    const sdp::connection* c = offer.effective_connection(m);
    if (!c || c->addr_type != "IP4" || !ipv4(c->address)) return fail(offer_error::no_address);
    n.remote_address = c->address;
    n.remote_port = m.port;
    n.offer_direction = offer.effective_direction(m);
    n.rtcp_mux = m.rtcp_mux;
    if (m.ptime_ms && *m.ptime_ms >= 10 && *m.ptime_ms <= 60) n.ptime_ms = *m.ptime_ms;
    return n;
  }
  return fail(saw_audio ? offer_error::no_common_codec : offer_error::no_audio);
}

sdp::session_description build_answer(const sdp::session_description& offer,
                                      const negotiated_audio& chosen,
                                      const std::string& local_address, uint16_t local_port,
                                      uint64_t session_id, uint64_t session_version) {
  sdp::session_description a;
  a.o.username = "tutti";
  a.o.session_id = session_id;
  a.o.session_version = session_version;
  a.o.address = local_address;
  a.name = "tutti";
  a.conn = sdp::connection{"IN", "IP4", local_address};
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const sdp::media_description& om = offer.media[i];
    sdp::media_description m;
    m.media = om.media;
    m.proto = om.proto;
    if (i != chosen.media_index) {
      // Refused (RFC 3264 §6): port 0, the formats of the offer echoed.
      m.port = 0;
      m.formats = om.formats.empty() ? std::vector<std::string>{"0"} : om.formats;
      a.media.push_back(std::move(m));
      continue;
    }
    m.port = local_port;
    m.formats.push_back(std::to_string(chosen.payload_type));
    switch (chosen.codec) {
      case audio_codec::pcmu: m.rtpmaps.push_back({chosen.payload_type, "PCMU", 8000, 1}); break;
      case audio_codec::pcma: m.rtpmaps.push_back({chosen.payload_type, "PCMA", 8000, 1}); break;
      case audio_codec::opus:
        m.rtpmaps.push_back({chosen.payload_type, "opus", 48000, 2});
        // RFC 7587 §6.1: we send mono; useinbandfec lets the client protect its stream.
        m.fmtps.push_back({std::to_string(chosen.payload_type), "stereo=0;sprop-stereo=0;useinbandfec=1"});
        break;
    }
    if (chosen.telephone_event_pt) {
      m.formats.push_back(std::to_string(chosen.telephone_event_pt));
      m.rtpmaps.push_back({chosen.telephone_event_pt, "telephone-event",
                           chosen.codec == audio_codec::opus ? 48000u : 8000u, 1});
      m.fmtps.push_back({std::to_string(chosen.telephone_event_pt), "0-15"});
    }
    m.ptime_ms = 20;
    m.dir = mirror(chosen.offer_direction);
    m.rtcp_mux = chosen.rtcp_mux;
    if (chosen.audio_level_ext_id) {
      sdp::extmap e;
      e.id = chosen.audio_level_ext_id;
      e.uri = std::string(audio_level_uri);
      m.extmaps.push_back(e);
    }
    a.media.push_back(std::move(m));
  }
  return a;
}

sdp::session_description build_offer(const std::string& local_address, uint16_t local_port,
                                     uint64_t session_id, uint64_t session_version,
                                     const audio_policy& policy) {
  sdp::session_description o;
  o.o.username = "tutti";
  o.o.session_id = session_id;
  o.o.session_version = session_version;
  o.o.address = local_address;
  o.name = "tutti";
  o.conn = sdp::connection{"IN", "IP4", local_address};
  sdp::media_description m;
  m.media = "audio";
  m.port = local_port;
  m.proto = "RTP/AVP";
  for (audio_codec c : policy.codecs) {
    switch (c) {
      case audio_codec::opus:
        m.formats.push_back(std::to_string(offer_pt_opus));
        m.rtpmaps.push_back({offer_pt_opus, "opus", 48000, 2});
        m.fmtps.push_back({std::to_string(offer_pt_opus), "stereo=0;sprop-stereo=0;useinbandfec=1"});
        break;
      case audio_codec::pcmu:
        m.formats.push_back("0");
        m.rtpmaps.push_back({0, "PCMU", 8000, 1});
        break;
      case audio_codec::pcma:
        m.formats.push_back("8");
        m.rtpmaps.push_back({8, "PCMA", 8000, 1});
        break;
    }
  }
  if (policy.telephone_event) {
    // RFC 4733 §2.1: the event clock matches the codec's, so one per rate we offer.
    m.formats.push_back(std::to_string(offer_pt_dtmf_8k));
    m.rtpmaps.push_back({offer_pt_dtmf_8k, "telephone-event", 8000, 1});
    m.fmtps.push_back({std::to_string(offer_pt_dtmf_8k), "0-15"});
    if (std::find(policy.codecs.begin(), policy.codecs.end(), audio_codec::opus) != policy.codecs.end()) {
      m.formats.push_back(std::to_string(offer_pt_dtmf_48k));
      m.rtpmaps.push_back({offer_pt_dtmf_48k, "telephone-event", 48000, 1});
      m.fmtps.push_back({std::to_string(offer_pt_dtmf_48k), "0-15"});
    }
  }
  m.ptime_ms = 20;
  m.dir = sdp::direction::sendrecv;
  m.rtcp_mux = true;
  if (policy.audio_level) {
    sdp::extmap e;
    e.id = offer_audio_level_id;
    e.uri = std::string(audio_level_uri);
    m.extmaps.push_back(e);
  }
  o.media.push_back(std::move(m));
  return o;
}

result<negotiated_audio, offer_error> read_answer(const sdp::session_description& answer,
                                                  const audio_policy& policy) {
  // RFC 3264 §6.1: the answerer lists what it will receive, most preferred first; we send
  // that. Rank every codec of ours equally so the answer's order decides.
  audio_policy by_answer = policy;
  bool refused_audio = false;
  for (size_t i = 0; i < answer.media.size(); ++i) {
    const sdp::media_description& m = answer.media[i];
    if (m.media != "audio") continue;
    if (m.port == 0) {
      refused_audio = true;
      continue;
    }
    by_answer.codecs.clear();
    for (const std::string& f : m.formats) {
      const auto pt = payload_type_of(f);
      const auto c = pt ? codec_of(m, *pt) : std::nullopt;
      if (c && std::find(policy.codecs.begin(), policy.codecs.end(), *c) != policy.codecs.end() &&
          std::find(by_answer.codecs.begin(), by_answer.codecs.end(), *c) == by_answer.codecs.end())
        by_answer.codecs.push_back(*c);
    }
    if (by_answer.codecs.empty()) return fail(offer_error::no_common_codec);
    // negotiate_audio picks the first usable audio line; give it only this one.
    sdp::session_description one = answer;
    one.media = {m};
    auto n = negotiate_audio(one, by_answer);
    if (!n) return n;
    n->media_index = i;
    if (n->remote_port == 0) return fail(offer_error::refused);
    return n;
  }
  return fail(refused_audio ? offer_error::refused : offer_error::no_audio);
}

}  // namespace tutti::sig

#include "dataplane/media_format.hpp"

namespace tutti::dp {

const char* to_string(codec_id c) noexcept {
  switch (c) {
    case codec_id::pcmu: return "pcmu";
    case codec_id::pcma: return "pcma";
    case codec_id::opus: return "opus";
  }
  return "unknown";
}

}  // namespace tutti::dp

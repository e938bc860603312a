#pragma once

#include <string>
#include <string_view>

namespace soma::notes {

// The media type a file name suggests by its extension, for attachments;
// "application/octet-stream" when the extension says nothing.
std::string media_type_for(std::string_view file_name);

}  // namespace soma::notes

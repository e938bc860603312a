#pragma once

#include <vector>

#include "store/database.h"

namespace soma::store {

// The daemon's schema, oldest first. A released migration is never edited;
// changes are new entries with the next number.
const std::vector<Migration>& daemon_migrations();

}  // namespace soma::store

// The probe's version: package.json's, handed in by the build (native/core/CMakeLists.txt).
#include "result.h"

#ifndef ISOPROBE_VERSION
#error "ISOPROBE_VERSION comes from package.json through native/core/CMakeLists.txt"
#endif

namespace isoprobe {

const char* const kProbeVersion = ISOPROBE_VERSION;

}  // namespace isoprobe

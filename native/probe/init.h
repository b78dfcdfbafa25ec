// PID 1 mode of the static probe inside a microVM guest (see init.cc).
#pragma once

namespace isoprobe {
int run_as_init(int argc, char** argv);
// Runs one probe command line ("block ...", "net rr ...") and returns its JSON (result or error).
// Defined in main.cc, shared with the plain CLI.
}

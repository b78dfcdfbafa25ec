// PID 1 mode of the static probe inside a microVM guest (see init.cc).
#pragma once
#include <string>
#include <vector>

namespace isoprobe {
int run_as_init(int argc, char** argv);
// Runs one probe command line ("block ...", "net rr ...") and returns its JSON (result or error);
// `mark` is told the measured window's edges. Defined in main.cc, shared with the plain CLI.
std::string run_probe_command(const std::vector<std::string>& args, void (*mark)(void*, const char*));
}

// Plan lines and module parameters: strict, bounded, never trusting the input.
#include "plan.h"

#include <sstream>

namespace isoprobe {

namespace {

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string t;
  while (in >> t) out.push_back(t);
  return out;
}

bool seconds_of(const std::string& s, unsigned* out) {
  if (s.empty() || s.size() > 6) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  *out = v;
  return true;
}

std::string norm(std::string s) {
  for (auto& c : s) if (c == '-') c = '_';
  return s;
}

}  // namespace

PlanStep parse_plan_line(const std::string& line) {
  PlanStep p;
  std::vector<std::string> w = split(line);
  if (w.empty() || w[0][0] == '#') { p.kind = PlanStep::Skip; return p; }
  const std::string& d = w[0];
  if (d == "net" && w.size() == 3) {
    p.kind = PlanStep::Net;
    p.args = {w[1], w[2]};
  } else if (d == "serve" && w.size() == 3 && seconds_of(w[2], &p.seconds)) {
    p.kind = PlanStep::Serve;
    p.args = {w[1]};
  } else if (d == "hold" && w.size() == 2 && seconds_of(w[1], &p.seconds)) {
    p.kind = PlanStep::Hold;
  } else if (d == "gate" && w.size() == 2 && seconds_of(w[1], &p.seconds)) {
    // The guest stops here until the host answers "GO <n>" on the console (it evicts its page
    // cache of the backing file first, so each block workload of one boot is measured cold).
    p.kind = PlanStep::Gate;
  } else if (d == "deadline" && w.size() == 2 && seconds_of(w[1], &p.seconds)) {
    p.kind = PlanStep::Deadline;
  } else if (d == "exit" && w.size() == 1) {
    p.kind = PlanStep::Exit;
  } else if (d == "run" && w.size() > 1 && w.size() <= 128) {
    p.kind = PlanStep::Run;
    p.args.assign(w.begin() + 1, w.end());
  } else {
    p.error = "cannot read plan line: " + line.substr(0, 200);
  }
  return p;
}

std::string module_params(const std::string& cmdline, const std::string& name) {
  std::istringstream in(cmdline);
  std::string tok, out;
  while (in >> tok) {
    size_t dot = tok.find('.');
    size_t eq = tok.find('=');
    if (dot == std::string::npos || dot == 0 || (eq != std::string::npos && eq < dot)) continue;
    if (norm(tok.substr(0, dot)) != norm(name)) continue;
    if (dot + 1 >= tok.size()) continue;
    out += (out.empty() ? "" : " ") + tok.substr(dot + 1);
  }
  return out;
}

}  // namespace isoprobe

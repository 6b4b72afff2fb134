// faasguard-agent: the command line, then the agent.
#include <iostream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  auto config = faasguard::ParseAgentConfig(std::vector<std::string>(argv + 1, argv + argc));
  if (!config.ok()) {
    std::cerr << "faasguard-agent: " << config.status().message()
              << "\n(faasguard-agent --help lists the flags)\n";
    return 2;
  }
  return faasguard::RunAgent(*config);
}

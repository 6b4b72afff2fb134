#include <iostream>
#include <string>
#include <vector>

#include "ctl/ctl.h"

int main(int argc, char** argv) {
  return faasguard::RunCtl(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}

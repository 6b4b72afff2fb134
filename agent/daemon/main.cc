#include "daemon/daemon.h"

int main(int argc, char** argv) { return faasguard::RunAgent(argc, argv); }

// faasguard-agent: wiring of loader, engine, event reader, store and gRPC server.
#pragma once

namespace faasguard {

// The whole agent; returns the process exit code.
int RunAgent(int argc, char** argv);

}  // namespace faasguard

// A stand-in Kubernetes API server for FunctionProfile resources, over real HTTPS on
// loopback (a CA and a server certificate made with openssl at start). It serves the
// responses recorded in tests/data/kube/ and keeps the resources, with the API server's
// optimistic concurrency (409 on a stale resourceVersion), the status subresource, LIST and
// WATCH (410 Gone when the requested resourceVersion is older than it keeps), and bearer
// tokens (401). No kube-apiserver runs on the test machines: this is what the client is
// tested against; docs/deploy.md says what an operator checks on a real cluster.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class SSLServer;
}

namespace faasguard::testing {

class FakeApiServer {
 public:
  // data_dir: tests/data/kube. token: the bearer token it accepts.
  FakeApiServer(const std::string& data_dir, const std::string& token);
  ~FakeApiServer();

  std::string url() const;         // https://127.0.0.1:PORT
  std::string ca_file() const;     // the CA that signed its certificate
  std::string token_file() const;  // a file holding the accepted token
  std::string dir() const { return dir_; }

  // Resources as JSON objects, keyed "namespace/name".
  void Put(const std::string& key, const std::string& object_json);  // as if another writer
  std::string Get(const std::string& key);                           // "" when absent
  // Change a stored resource as another node would (resourceVersion moves, a MODIFIED event).
  void Mutate(const std::string& key, const std::function<void(std::string& json)>& edit);

  // Called before each PUT is checked (key, is it /status): lets a test write in between a
  // client's read and its write.
  void OnPut(std::function<void(const std::string&, bool)> hook);
  // Called before each POST (create) is handled, with the key it creates.
  void OnPost(std::function<void(const std::string&)> hook);
  // Watches asking for a resourceVersion below this get 410 Gone.
  void ForgetHistoryBefore(long rv);
  // How long a watch stays open after sending what it has (then the server ends it).
  void SetWatchHold(int ms) { watch_hold_ms_ = ms; }
  // Refuse every status write with the recorded 403.
  void ForbidStatus(bool on) { forbid_status_ = on; }

  long resource_version();
  int requests(const std::string& method);  // requests seen, per method ("WATCH" for watches)

 private:
  std::string Template(const std::string& file, const std::string& name, const std::string& ns);
  void Record(const std::string& type, const std::string& object_json);  // needs mu_
  std::string Stamp(std::string object_json);                            // needs mu_

  std::string data_;
  std::string token_;
  std::string dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  long rv_ = 100;
  long oldest_ = 0;
  std::map<std::string, std::string> objects_;
  std::vector<std::pair<long, std::string>> events_;  // rv, watch event line
  std::function<void(const std::string&, bool)> on_put_;
  std::function<void(const std::string&)> on_post_;
  std::map<std::string, int> requests_;
  int watch_hold_ms_ = 300;
  bool forbid_status_ = false;
  bool stopping_ = false;
};

}  // namespace faasguard::testing

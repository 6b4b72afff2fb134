#include "support/fake_apiserver.h"

#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace faasguard::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Struct Parse(const std::string& json) {
  Struct s;
  if (!google::protobuf::util::JsonStringToMessage(json, &s).ok())
    throw std::runtime_error("fake API server: bad JSON: " + json.substr(0, 200));
  return s;
}

std::string Dump(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

Struct* Sub(Struct& s, const std::string& name) {
  Value& v = (*s.mutable_fields())[name];
  if (v.kind_case() != Value::kStructValue) v.mutable_struct_value();
  return v.mutable_struct_value();
}

std::string Str(const Struct& s, const std::string& a, const std::string& b = "") {
  auto it = s.fields().find(a);
  if (it == s.fields().end()) return "";
  if (b.empty()) return it->second.string_value();
  auto jt = it->second.struct_value().fields().find(b);
  return jt == it->second.struct_value().fields().end() ? "" : jt->second.string_value();
}

void Run(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("fake API server: failed: " + cmd);
}

}  // namespace

FakeApiServer::FakeApiServer(const std::string& data_dir, const std::string& token)
    : data_(data_dir), token_(token) {
  char tmpl[] = "/tmp/fg-apiserver-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  Run(absl::StrCat("cd ", dir_, " && openssl req -x509 ", ec,
                   " -keyout ca.key -out ca.crt -days 1 -subj /CN=fake-cluster-ca"));
  Run(absl::StrCat("cd ", dir_, " && openssl req ", ec,
                   " -keyout server.key -out server.csr -subj /CN=kube-apiserver"));
  {
    std::ofstream ext(dir_ + "/ext");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  }
  Run(absl::StrCat("cd ", dir_,
                   " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
                   " -out server.crt -days 1 -extfile ext"));
  {
    std::ofstream t(dir_ + "/token");
    t << token_ << "\n";
  }

  server_ = std::make_unique<httplib::SSLServer>((dir_ + "/server.crt").c_str(),
                                                 (dir_ + "/server.key").c_str());
  if (!server_->is_valid()) throw std::runtime_error("fake API server: bad certificate");

  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++requests_[req.has_param("watch") ? "WATCH" : req.method];
    }
    if (req.get_header_value("Authorization") != "Bearer " + token_) {
      res.status = 401;
      res.set_content(Template("unauthorized.json", "", ""), "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  const std::string one =
      R"(/apis/faasguard\.dev/v1alpha1/namespaces/([^/]+)/functionprofiles/([^/]+))";
  server_->Get(one, [this](const httplib::Request& req, httplib::Response& res) {
    std::string key = absl::StrCat(req.matches[1].str(), "/", req.matches[2].str());
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      res.status = 404;
      res.set_content(Template("not_found.json", req.matches[2], req.matches[1]),
                      "application/json");
      return;
    }
    res.set_content(it->second, "application/json");
  });

  auto put = [this](const httplib::Request& req, httplib::Response& res, bool status) {
    std::string ns = req.matches[1], name = req.matches[2];
    std::string key = absl::StrCat(ns, "/", name);
    std::function<void(const std::string&, bool)> hook;
    {
      std::lock_guard<std::mutex> l(mu_);
      hook = on_put_;
    }
    if (hook) hook(key, status);
    std::lock_guard<std::mutex> l(mu_);
    if (status && forbid_status_) {
      res.status = 403;
      res.set_content(Template("forbidden.json", name, ns), "application/json");
      return;
    }
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      res.status = 404;
      res.set_content(Template("not_found.json", name, ns), "application/json");
      return;
    }
    Struct in = Parse(req.body), cur = Parse(it->second);
    if (Str(in, "metadata", "resourceVersion") != Str(cur, "metadata", "resourceVersion")) {
      res.status = 409;
      res.set_content(Template("conflict.json", name, ns), "application/json");
      return;
    }
    // The main resource ignores status; the status subresource changes only status.
    const char* part = status ? "status" : "spec";
    (*cur.mutable_fields())[part] = in.fields().count(part) ? in.fields().at(part) : Value();
    it->second = Stamp(Dump(cur));
    Record("MODIFIED", it->second);
    res.set_content(it->second, "application/json");
  };
  server_->Put(one, [put](const httplib::Request& q, httplib::Response& r) { put(q, r, false); });
  server_->Put(one + "/status",
               [put](const httplib::Request& q, httplib::Response& r) { put(q, r, true); });

  server_->Post(R"(/apis/faasguard\.dev/v1alpha1/namespaces/([^/]+)/functionprofiles)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Struct in = Parse(req.body);
                  std::string ns = req.matches[1], name = Str(in, "metadata", "name");
                  std::string key = absl::StrCat(ns, "/", name);
                  std::function<void(const std::string&)> hook;
                  {
                    std::lock_guard<std::mutex> l(mu_);
                    hook = on_post_;
                  }
                  if (hook) hook(key);
                  std::lock_guard<std::mutex> l(mu_);
                  if (objects_.count(key)) {
                    res.status = 409;
                    res.set_content(Template("already_exists.json", name, ns), "application/json");
                    return;
                  }
                  Sub(in, "metadata")->mutable_fields()->erase("resourceVersion");
                  (*Sub(in, "metadata")->mutable_fields())["namespace"].set_string_value(ns);
                  in.mutable_fields()->erase("status");  // status only through /status
                  objects_[key] = Stamp(Dump(in));
                  Record("ADDED", objects_[key]);
                  res.status = 201;
                  res.set_content(objects_[key], "application/json");
                });

  server_->Get(R"(/apis/faasguard\.dev/v1alpha1/functionprofiles)", [this](
                                                                        const httplib::Request& req,
                                                                        httplib::Response& res) {
    if (!req.has_param("watch")) {
      std::lock_guard<std::mutex> l(mu_);
      std::string items;
      for (const auto& [k, o] : objects_) absl::StrAppend(&items, items.empty() ? "" : ",", o);
      res.set_content(absl::StrReplaceAll(Slurp(data_ + "/list.json"),
                                          {{"${ITEMS}", items}, {"${RV}", std::to_string(rv_)}}),
                      "application/json");
      return;
    }
    long since = std::atol(req.get_param_value("resourceVersion").c_str());
    res.set_chunked_content_provider("application/json", [this, since, sent = since](
                                                             size_t,
                                                             httplib::DataSink& sink) mutable {
      std::unique_lock<std::mutex> l(mu_);
      if (since < oldest_) {
        std::string gone = absl::StrReplaceAll(
            Slurp(data_ + "/gone.json"),
            {{"${RV}", std::to_string(since)}, {"${CURRENT}", std::to_string(rv_)}});
        gone.erase(gone.find_last_not_of("\n") + 1);
        gone += "\n";
        sink.write(gone.data(), gone.size());
        sink.done();
        return true;
      }
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(watch_hold_ms_);
      for (;;) {
        bool any = false;
        for (const auto& [rv, line] : events_) {
          if (rv <= sent) continue;
          std::string out = line + "\n";
          if (!sink.write(out.data(), out.size())) return false;
          sent = rv;
          any = true;
        }
        if (any)
          deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(watch_hold_ms_);
        if (stopping_ ||
            !cv_.wait_until(l, deadline, [&] { return stopping_ || events_.back().first > sent; }))
          break;
      }
      sink.done();
      return true;
    });
  });

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake API server: cannot bind");
  events_.push_back({0, ""});  // sentinel: events_.back() always exists
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  Run("rm -rf " + dir_);
}

std::string FakeApiServer::url() const { return absl::StrCat("https://127.0.0.1:", port_); }
std::string FakeApiServer::ca_file() const { return dir_ + "/ca.crt"; }
std::string FakeApiServer::token_file() const { return dir_ + "/token"; }

std::string FakeApiServer::Template(const std::string& file, const std::string& name,
                                    const std::string& ns) {
  return absl::StrReplaceAll(Slurp(data_ + "/" + file), {{"${NAME}", name}, {"${NAMESPACE}", ns}});
}

std::string FakeApiServer::Stamp(std::string object_json) {
  Struct s = Parse(object_json);
  Struct* meta = Sub(s, "metadata");
  (*meta->mutable_fields())["resourceVersion"].set_string_value(std::to_string(++rv_));
  if (!meta->fields().count("uid"))
    (*meta->mutable_fields())["uid"].set_string_value(absl::StrCat("uid-", rv_));
  return Dump(s);
}

void FakeApiServer::Record(const std::string& type, const std::string& object_json) {
  events_.push_back({rv_, absl::StrCat(R"({"type":")", type, R"(","object":)", object_json, "}")});
  cv_.notify_all();
}

void FakeApiServer::Put(const std::string& key, const std::string& object_json) {
  std::lock_guard<std::mutex> l(mu_);
  bool added = !objects_.count(key);
  objects_[key] = Stamp(object_json);
  Record(added ? "ADDED" : "MODIFIED", objects_[key]);
}

std::string FakeApiServer::Get(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? "" : it->second;
}

void FakeApiServer::Mutate(const std::string& key, const std::function<void(std::string&)>& edit) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) throw std::runtime_error("fake API server: no " + key);
  edit(it->second);
  it->second = Stamp(it->second);
  Record("MODIFIED", it->second);
}

void FakeApiServer::OnPut(std::function<void(const std::string&, bool)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  on_put_ = std::move(hook);
}

void FakeApiServer::OnPost(std::function<void(const std::string&)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  on_post_ = std::move(hook);
}

void FakeApiServer::ForgetHistoryBefore(long rv) {
  std::lock_guard<std::mutex> l(mu_);
  oldest_ = rv;
}

long FakeApiServer::resource_version() {
  std::lock_guard<std::mutex> l(mu_);
  return rv_;
}

int FakeApiServer::requests(const std::string& method) {
  std::lock_guard<std::mutex> l(mu_);
  return requests_[method];
}

}  // namespace faasguard::testing

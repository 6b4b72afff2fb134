// Profiles: show, export, import, diff, accept, delete.
#include <iostream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "ctl/actions/actions.h"
#include "ctl/format.h"
#include "profile/convert.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard::actions {
namespace {

int FetchProfile(Invocation& in, const v1::FunctionId& id, v1::Profile* p) {
  v1::GetProfileRequest req;
  *req.mutable_function() = id;
  v1::GetProfileResponse r;
  if (int code = in.Call(&v1::Agent::Stub::GetProfile, req, &r)) return code;
  *p = r.profile();
  return kExitOk;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFile(path);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Every profile of a file, "FILE: why" when it cannot be read or parsed.
absl::StatusOr<std::vector<v1::Profile>> ReadProfiles(const std::string& file) {
  auto text = ReadInput(file);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", text.status().message()));
  auto profiles = ParseProfileDocs(*text);
  if (!profiles.ok())
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", profiles.status().message()));
  return profiles;
}

// One document to import and the file it came from.
struct Import {
  std::string file;
  v1::Profile profile;
};

// Every document of every file, read and checked before anything is sent: a bad file imports
// nothing. With -n, every document must be of that namespace.
absl::StatusOr<std::vector<Import>> ReadImports(const std::vector<std::string>& files,
                                                const std::string& ns) {
  std::vector<Import> todo;
  for (const auto& f : files) {
    FG_ASSIGN_OR_RETURN(std::vector<v1::Profile> profiles, ReadProfiles(f));
    for (auto& p : profiles) {
      if (!ns.empty() && p.function().namespace_() != ns)
        return absl::InvalidArgumentError(absl::StrCat(f, ": ", FunctionRef(p.function()),
                                                       " is not in namespace \"", ns, "\" (-n)"));
      todo.push_back({f, std::move(p)});
    }
  }
  return todo;
}

}  // namespace

absl::StatusOr<ImportOptions> ImportOptionsFromArgs(const ParsedArgs& a) {
  ImportOptions o;
  o.merge = a.Has("merge");
  o.take_mode = a.Has("take-mode");
  o.dry_run = a.Has("dry-run");
  if (a.Has("mode")) {
    if (o.take_mode) return absl::InvalidArgumentError("give --mode or --take-mode, not both");
    FG_ASSIGN_OR_RETURN(o.mode, ParseModeName(a.Get("mode")));
  }
  return o;
}

v1::PutProfileRequest ImportRequest(const v1::Profile& p, const ImportOptions& o) {
  v1::PutProfileRequest req;
  *req.mutable_profile() = p;
  req.set_merge(o.merge);
  req.set_take_mode(o.take_mode);
  req.set_mode(o.mode);
  req.set_dry_run(o.dry_run);
  return req;
}

int ProfileShow(Invocation& in) {
  const v1::FunctionId& id = *in.function;
  int code = kExitOk;
  v1::Profile p;
  if ((code = FetchProfile(in, id, &p))) return code;
  if (in.output == "table") {
    in.out << RenderProfile(p);
    return kExitOk;
  }
  auto doc = RenderProfileDoc(p, in.output == "yaml" ? DocFormat::kYaml : DocFormat::kJson,
                              DocShape::kPlain);
  if (!doc.ok()) return in.Fail(doc.status().message());
  in.out << *doc << (in.output == "json" ? "\n" : "");
  return kExitOk;
}

int ProfileExport(Invocation& in) {
  const v1::FunctionId& id = *in.function;
  int code = kExitOk;
  std::string format = in.args.Get("format", "plain");
  if (format != "plain" && format != "crd")
    return in.Usage(absl::StrCat("unknown export format \"", format, "\" (plain or crd)"));
  v1::Profile p;
  if ((code = FetchProfile(in, id, &p))) return code;
  auto doc = RenderProfileDoc(p, in.output == "yaml" ? DocFormat::kYaml : DocFormat::kJson,
                              format == "crd" ? DocShape::kCrd : DocShape::kPlain);
  if (!doc.ok()) return in.Fail(doc.status().message());
  std::string text = *doc + (doc->empty() || doc->back() != '\n' ? "\n" : "");
  if (!in.args.Has("file")) {
    in.out << text;
    return kExitOk;
  }
  absl::Status s = WriteFileAtomic(in.args.Get("file"), text, 0600);
  if (!s.ok()) return in.Fail(s.message());
  in.err << "exported " << FunctionRef(id) << " to " << in.args.Get("file") << "\n";
  return kExitOk;
}

int ProfileImport(Invocation& in) {
  auto opts = ImportOptionsFromArgs(in.args);
  if (!opts.ok()) return in.Usage(opts.status().message());
  auto todo = ReadImports(in.operands, in.ns);
  if (!todo.ok()) return in.Fail(todo.status().message(), kExitUsage);
  int result = kExitOk;
  for (size_t i = 0; i < todo->size(); ++i) {
    const auto& [file, p] = (*todo)[i];
    v1::PutProfileResponse r;
    // Progress on stderr, one line per profile.
    in.err << "[" << i + 1 << "/" << todo->size() << "] " << FunctionRef(p.function()) << " from "
           << file << ": ";
    CallError e;
    int code = in.client.Call(&v1::Agent::Stub::PutProfile, ImportRequest(p, *opts), &r, &e);
    if (code == kExitOk && opts->dry_run && !r.dry_run()) {
      code = kExitError;
      e.message =
          "the agent does not know --dry-run (it is older than faasguardctl): this "
          "import WAS applied";
    } else if (code == kExitOk && opts->mode != v1::MODE_UNSPECIFIED && r.mode() != opts->mode) {
      code = kExitError;
      e.message =
          absl::StrCat("the agent did not set mode ", ModeName(opts->mode),
                       " (it is older than faasguardctl?): the mode is ", ModeName(r.mode()));
    }
    if (code != kExitOk) {
      in.err << "FAILED\n";
      result = in.Fail(e.message, code);
      if (code == kExitUnavailable) break;  // the others would fail the same way
      continue;
    }
    in.err << RenderImportResult(r, opts->merge) << "\n";
    if (in.output == "json")
      in.out << MessageToJson(r, false) << "\n";
    else if (opts->dry_run)
      in.out << RenderImportPreview(r, FunctionRef(p.function()), file);
  }
  return result;
}

int ProfileDiff(Invocation& in) {
  const v1::FunctionId& id = *in.function;
  int code = kExitOk;
  const std::string& file = in.operands[1];
  auto profiles = ReadProfiles(file);
  if (profiles.ok() && profiles->size() != 1)
    profiles = absl::InvalidArgumentError(absl::StrCat(file, ": holds several profiles; give one"));
  if (!profiles.ok()) return in.Fail(profiles.status().message(), kExitUsage);
  v1::DiffProfileRequest req;
  *req.mutable_function() = id;
  *req.mutable_profile() = profiles->front();
  v1::DiffProfileResponse r;
  if ((code = in.Call(&v1::Agent::Stub::DiffProfile, req, &r)))
    return code == kExitError ? kExitDiffFailed : code;
  in.out << (in.output == "json" ? MessageToJson(r) + "\n" : RenderDiff(r, FunctionRef(id), file));
  return r.identical() ? kExitOk : kExitDiffers;
}

int ProfileAccept(Invocation& in) {
  const v1::FunctionId& id = *in.function;
  int code = kExitOk;
  uint64_t vid;
  if (!absl::SimpleAtoi(in.operands[1], &vid) || vid == 0)
    return in.Usage(absl::StrCat("violation id \"", in.operands[1], "\" is not a positive number"));
  v1::AcceptViolationRequest req;
  *req.mutable_function() = id;
  req.set_id(vid);
  v1::AcceptViolationResponse r;
  if ((code = in.Call(&v1::Agent::Stub::AcceptViolation, req, &r))) return code;
  if (in.output == "json")
    in.out << MessageToJson(r) << "\n";
  else
    in.out << "violation " << vid << " (" << r.violation().kind() << " "
           << r.violation().attempted() << ") "
           << (r.added() ? "added to the profile of " : "was already in the profile of ")
           << FunctionRef(id) << "\n";
  return kExitOk;
}

int ProfileDelete(Invocation& in) {
  const v1::FunctionId& id = *in.function;
  int code = kExitOk;
  v1::DeleteProfileRequest req;
  *req.mutable_function() = id;
  v1::DeleteProfileResponse r;
  if ((code = in.Call(&v1::Agent::Stub::DeleteProfile, req, &r))) return code;
  in.out << "deleted " << FunctionRef(id) << "\n";
  return kExitOk;
}

}  // namespace faasguard::actions

# Shared by the scripts: messages, prerequisite checks, dependency install, build.
# shellcheck shell=bash

FG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FG_BUILD="${FG_BUILD:-$FG_ROOT/build}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33m!!\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mxx\033[0m %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run this as root: it installs packages and loads eBPF programs"
}

# What the kernel must offer, checked before anything is installed or built (seconds, not the
# twenty minutes of a build). A bpf filesystem need not be mounted: the agent mounts one at
# /sys/fs/bpf when none is there, so the kernel only has to know the type.
check_prerequisites() {
  require_root
  local problems=()
  command -v apt-get >/dev/null || problems+=("apt-get not found: the scripts install Debian 12 packages")
  [ -r /sys/kernel/btf/vmlinux ] ||
    problems+=("this kernel has no BTF (/sys/kernel/btf/vmlinux): faasguard needs CONFIG_DEBUG_INFO_BTF=y")
  awk '$9 == "cgroup2" { found = 1 } END { exit !found }' /proc/self/mountinfo 2>/dev/null ||
    problems+=("no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
  grep -qw bpf /proc/filesystems ||
    problems+=("this kernel has no bpf filesystem (CONFIG_BPF_SYSCALL=y is needed)")
  local major minor
  IFS=. read -r major minor _ <<<"$(uname -r)"
  if [ "${major:-0}" -lt 5 ] || { [ "${major:-0}" -eq 5 ] && [ "${minor%%[!0-9]*}" -lt 15 ]; }; then
    problems+=("kernel $(uname -r) is older than 5.15, the oldest faasguard runs on")
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    for p in "${problems[@]}"; do warn "$p"; done
    die "this machine cannot run faasguard (see above); nothing was installed or built"
  fi
  local bpffs="not mounted: the agent mounts it"
  awk '$9 == "bpf" && $5 == "/sys/fs/bpf" { found = 1 } END { exit !found }' /proc/self/mountinfo &&
    bpffs="mounted"
  say "kernel $(uname -r): BTF, cgroup v2, bpf filesystem ($bpffs)"
}

# Debian 12 packages. The build and the demo need the first list; the tests and the bench the
# second as well.
FG_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev
  libcpp-httplib-dev libyaml-cpp-dev libssl-dev libseccomp-dev
  python3 curl util-linux procps
)
FG_TEST_PACKAGES=(
  clang-format openssl libgtest-dev libgmock-dev libclang-rt-14-dev
  python3-yaml iproute2
  containerd runc wrk gnuplot-nox bpftrace
  prometheus dnsmasq-base
  python3-waitress node-express golang-go
)

# install_packages PKG...: apt-get install those that are missing.
install_packages() {
  local missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all $# required packages are installed"
    return
  fi
  say "installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build TESTS(ON|OFF) [TARGET...]: configure build/ (warnings are errors here, as in CI) and
# build the given targets, or everything.
build() {
  local tests="$1"
  shift
  say "configuring the build in $FG_BUILD (tests: $tests)"
  # FG_CMAKE_ARGS: extra cmake flags (a builder without kernel BTF: -DFG_VMLINUX_H=FILE).
  # shellcheck disable=SC2086
  cmake -S "$FG_ROOT" -B "$FG_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFG_WERROR=ON \
    -DFG_BUILD_TESTS="$tests" ${FG_CMAKE_ARGS:-} >/dev/null
  say "building ${*:-everything} (ninja, $(nproc) jobs)"
  ninja -C "$FG_BUILD" "$@" | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "the build failed"
}

# recap_failures BUILD_DIR [LINES]: the last LINES (default 40) lines of what each test that failed
# in the last ctest run printed, so that the end of a long log says why, not only which.
recap_failures() {
  local dir="$1/Testing/Temporary" n="${2:-40}" name
  [ -f "$dir/LastTestsFailed.log" ] || return 0
  while IFS= read -r name; do
    name="${name#*:}"
    echo "=== the end of what $name printed ==="
    awk -v t="$name" '
      index($0, " Testing: " t) && substr($0, index($0, ": ") + 2) == t { on = 1; next }
      on && index($0, "\"" t "\" end time:") == 1 { exit }
      on && !/^(-+|<end of output>|Test time = .*|Test (Passed|Failed)\.)$/ { print }' \
      "$dir/LastTest.log" | tail -n "$n"
  done < "$dir/LastTestsFailed.log"
}

# run_without_bpffs CMD...: CMD in a private mount namespace where nothing is mounted at
# /sys/fs/bpf, as on a fresh machine without systemd: what the tests prove does not depend on
# what this machine had mounted before (the agent mounts it, in that namespace only).
run_without_bpffs() {
  unshare --mount --propagation private -- bash -c '
    while awk '"'"'$5 == "/sys/fs/bpf" { f = 1 } END { exit !f }'"'"' /proc/self/mountinfo; do
      umount -l /sys/fs/bpf || exit 1
    done
    exec "$@"' run_without_bpffs "$@"
}

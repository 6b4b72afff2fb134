# Shared by the scripts: messages, root check, dependency install, build.
# shellcheck shell=bash

FG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FG_BUILD="${FG_BUILD:-$FG_ROOT/build}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33m!!\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mxx\033[0m %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run this as root: it installs packages and loads eBPF programs"
}

# Debian 12 packages the build, the tests and the demo need.
FG_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang clang-format llvm bpftool libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev
  libcpp-httplib-dev libyaml-cpp-dev openssl
  libgtest-dev libgmock-dev
  python3 python3-yaml curl iproute2 util-linux procps
  libclang-rt-14-dev
  containerd runc libssl-dev
  wrk gnuplot-nox bpftrace
)

install_packages() {
  local missing=()
  for p in "${FG_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#FG_PACKAGES[@]} required packages are installed"
    return
  fi
  say "installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  if [ ! -f "$FG_BUILD/build.ninja" ]; then
    say "configuring the build in $FG_BUILD"
    # FG_CMAKE_ARGS: extra cmake flags (the image build: -DFG_BUILD_TESTS=OFF; a builder
    # without kernel BTF: -DFG_VMLINUX_H=FILE).
    # shellcheck disable=SC2086
    cmake -S "$FG_ROOT" -B "$FG_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${FG_CMAKE_ARGS:-} >/dev/null
  fi
  say "building (ninja, $(nproc) jobs)"
  ninja -C "$FG_BUILD" | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "the build failed"
}

check_kernel() {
  [ -r /sys/kernel/btf/vmlinux ] || die "this kernel has no BTF (/sys/kernel/btf/vmlinux): faasguard needs CONFIG_DEBUG_INFO_BTF=y"
  grep -q cgroup2 /proc/self/mountinfo || die "no cgroup v2 hierarchy is mounted"
}

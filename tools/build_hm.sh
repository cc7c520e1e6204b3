#!/usr/bin/env bash
# Build HM-16.12 (standard build, RExt__HIGH_BIT_DEPTH_SUPPORT=0) and install TAppEncoderStatic and
# TAppDecoderStatic where cfc-ref finds them (spec/codec.md H-2.2).
#
#   tools/build_hm.sh                      # clone the upstream HM git repository at tag HM-16.12 (needs internet)
#   tools/build_hm.sh /path/to/HM-16.12    # a local source tree
#   tools/build_hm.sh HM-16.12.tar.gz      # a local archive (.tar.gz, .tgz, .tar.bz2, .tar.xz, .zip)
#
# Environment: CFC_HM_DIR   install directory (default ~/.local/share/cfc-ref/hm-16.12/bin)
#              CFC_HM_GIT   upstream repository (default https://vcgit.hhi.fraunhofer.de/jvet/HM.git)
#              CFC_HM_SELFTEST  full (default: decode and encode all golden/hm-16.12 vectors), decode, or none
#              JOBS         parallel make jobs (default: number of cores)
#              PYTHON       the interpreter that has cfc-ref's dependencies, for the self-test (default: python3)
#
# HM-16.12's makefiles compile with -Werror, which current gcc turns into errors on warnings the 2016 code has;
# the copy we build has -Werror removed (nothing else in the source is changed).
set -euo pipefail

TAG=HM-16.12
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTALL_DIR=${CFC_HM_DIR:-$HOME/.local/share/cfc-ref/hm-16.12/bin}
GIT_URL=${CFC_HM_GIT:-https://vcgit.hhi.fraunhofer.de/jvet/HM.git}
SELFTEST=${CFC_HM_SELFTEST:-full}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
PYTHON=${PYTHON:-python3}

die() { echo "build_hm.sh: $*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cfc-ref-hm-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. Get the source into $WORK/src.
SOURCE=${1:-}
if [ -z "$SOURCE" ]; then
  command -v git >/dev/null || die "git is needed to fetch $TAG (or pass a source tree or archive)"
  echo "fetching $TAG from $GIT_URL"
  git clone --quiet --depth 1 --branch "$TAG" "$GIT_URL" "$WORK/src" || die "could not clone $GIT_URL at $TAG"
elif [ -d "$SOURCE" ]; then
  cp -a "$SOURCE" "$WORK/src"
elif [ -f "$SOURCE" ]; then
  mkdir "$WORK/unpacked"
  case "$SOURCE" in
    *.tar.gz|*.tgz|*.tar.bz2|*.tar.xz|*.tar) tar -xf "$SOURCE" -C "$WORK/unpacked" ;;
    *.zip) command -v unzip >/dev/null || die "unzip is needed for $SOURCE"; unzip -q "$SOURCE" -d "$WORK/unpacked" ;;
    *) die "$SOURCE: not a directory or a .tar.gz/.tgz/.tar.bz2/.tar.xz/.zip archive" ;;
  esac
  top=$(find "$WORK/unpacked" -mindepth 1 -maxdepth 1)
  if [ "$(echo "$top" | wc -l)" = 1 ] && [ -d "$top" ]; then mv "$top" "$WORK/src"; else mv "$WORK/unpacked" "$WORK/src"; fi
else
  die "$SOURCE does not exist"
fi
SRC="$WORK/src"
[ -d "$SRC/source/App/TAppEncoder" ] || die "$SOURCE does not look like an HM source tree (no source/App/TAppEncoder)"

# 2. Build the standard (not high-bit-depth) configuration without -Werror.
if [ -f "$SRC/build/linux/makefile" ]; then
  find "$SRC/build/linux" -name 'makefile*' -exec sed -i -e 's/-Werror\b//g' {} +
  [ -f "$SRC/build/linux/common/makefile.base" ] || die "no build/linux/common/makefile.base in the source"
  echo 'CPPFLAGS += $(CFC_EXTRA_CXXFLAGS)' >> "$SRC/build/linux/common/makefile.base"
  built_ok=
  # The code's own dialect first; then the dialects a 2016 code base is written for, in case gcc's default
  # (gnu++17) rejects something. Each attempt starts from a fresh copy.
  for dialect in "" "-std=gnu++98" "-std=gnu++11"; do
    rm -rf "$WORK/attempt" && cp -a "$SRC" "$WORK/attempt"
    echo "building $TAG (make, $JOBS jobs${dialect:+, $dialect})"
    if make -C "$WORK/attempt/build/linux" -j "$JOBS" release HIGHBITDEPTH=0 \
         CFC_EXTRA_CXXFLAGS="-Wno-error $dialect" > "$WORK/build.log" 2>&1; then
      built_ok=1; SRC="$WORK/attempt"; break
    fi
    tail -5 "$WORK/build.log" >&2
  done
  [ -n "$built_ok" ] || { tail -40 "$WORK/build.log" >&2; die "make failed with every dialect (log above)"; }
elif [ -f "$SRC/CMakeLists.txt" ]; then
  find "$SRC" -name CMakeLists.txt -exec sed -i -e 's/-Werror\b//g' {} +
  echo "building $TAG (cmake, $JOBS jobs)"
  cmake -S "$SRC" -B "$WORK/cmake" -DCMAKE_BUILD_TYPE=Release -DHIGH_BITDEPTH=OFF > "$WORK/build.log" 2>&1 \
    && cmake --build "$WORK/cmake" -j "$JOBS" >> "$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log" >&2; die "cmake build failed (log above)"; }
else
  die "no build/linux/makefile or CMakeLists.txt in the source"
fi

# 3. Install.
mkdir -p "$INSTALL_DIR"
for tool in TAppEncoderStatic TAppDecoderStatic; do
  built=$(find "$SRC" -type f -name "$tool" -perm -u+x | head -n 1)
  [ -n "$built" ] || die "the build produced no $tool"
  install -m 755 "$built" "$INSTALL_DIR/$tool"
done
echo "installed TAppEncoderStatic and TAppDecoderStatic in $INSTALL_DIR"

# 4. Self-test against the normative vectors (a high-bit-depth build fails the lossy bitstream hashes).
if [ "$SELFTEST" != none ]; then
  check_args=(codec check "$REPO_ROOT/golden/hm-16.12" --decoder hm --strict)
  if [ "$SELFTEST" = decode ]; then check_args+=(--no-encode); else check_args+=(--encode); fi
  PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -c 'import cfc_ref.codecs.hevc' 2>/dev/null \
    || die "HM is installed, but the self-test cannot run: $PYTHON cannot import cfc-ref's dependencies (pip install -e . first, or set PYTHON; CFC_HM_SELFTEST=none skips it)"
  echo "self-test: cfc-ref ${check_args[*]}"
  CFC_HM_DIR="$INSTALL_DIR" PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m cfc_ref.cli "${check_args[@]}" > "$WORK/selftest.log" 2>&1 \
    || { tail -20 "$WORK/selftest.log" >&2; die "self-test failed: this HM does not reproduce the golden vectors"; }
  tail -n 1 "$WORK/selftest.log"
fi
echo "export CFC_HM_DIR=$INSTALL_DIR   # if you installed somewhere other than the default"

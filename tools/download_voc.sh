#!/usr/bin/env bash
# Fetch what the paper's real setting needs, on a machine with internet, and check it:
#   VOC2007 test (VOCtest_06-Nov-2007.tar, MD5 b6e924de25625d8de591ea690078ad9f) -> DEST/VOCdevkit/VOC2007
#   YOLOv2-VOC weights (yolov2-voc.weights, 202 704 264 bytes = what yolo-voc.cfg needs; loaded strictly by cfc-ref)
#
#   tools/download_voc.sh [DEST] [all|voc|weights]       # defaults: data, all
# then: cfc-ref run tools/configs/voc2007-yolo-voc.json
#
# Offline, or behind a proxy: put VOCtest_06-Nov-2007.tar and/or yolo-voc.weights into DEST by hand (they are checked
# the same way), or point CFC_VOC_URL / CFC_WEIGHTS_URL at a mirror. A file that fails its check is moved aside to
# <name>.bad and downloaded again once. PYTHON: the interpreter that has cfc-ref (default: the one behind the
# cfc-ref command on PATH, else python3).
set -euo pipefail
DEST=${1:-data}
PART=${2:-all}
case "$PART" in all|voc|weights) ;; *) echo "download_voc.sh: PART must be all, voc or weights" >&2; exit 2 ;; esac
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
VOC_URL=${CFC_VOC_URL:-http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar}
VOC_MD5=b6e924de25625d8de591ea690078ad9f
WEIGHTS_URL=${CFC_WEIGHTS_URL:-https://pjreddie.com/media/files/yolov2-voc.weights}
WEIGHTS_BYTES=202704264

die() { echo "download_voc.sh: $*" >&2; exit 1; }
fetch() {  # URL FILE: into FILE.partial first, so that an interrupted download never looks complete
  local tmp="$2.partial"
  rm -f "$tmp"
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$tmp" "$1"; else wget -O "$tmp" "$1"; fi || {
    rm -f "$tmp"; return 1; }
  mv "$tmp" "$2"
}
offline() {  # what to do when a download fails
  die "could not download $1; put $(basename "$2") into $(dirname "$2") by hand (it is checked the same way), or set $3 to a mirror"
}
if [ -z "${PYTHON:-}" ]; then
  cfc_bin=$(command -v cfc-ref || true)
  shebang=$([ -n "$cfc_bin" ] && head -n 1 "$cfc_bin" | sed -n 's/^#! *//p' || true)
  PYTHON=${shebang:-python3}
fi
"$PYTHON" -c "import cfc_ref.detector.model" 2>/dev/null || die "$PYTHON cannot import cfc_ref: set PYTHON to the interpreter where cfc-ref is installed"
mkdir -p "$DEST"

if [ "$PART" != weights ]; then
tar_file="$DEST/VOCtest_06-Nov-2007.tar"
[ -f "$tar_file" ] || fetch "$VOC_URL" "$tar_file" || offline "$VOC_URL" "$tar_file" CFC_VOC_URL
if ! echo "$VOC_MD5  $tar_file" | md5sum -c - >/dev/null 2>&1; then
  mv "$tar_file" "$tar_file.bad"
  echo "download_voc.sh: $tar_file failed its MD5 check (moved to $tar_file.bad); downloading it again" >&2
  fetch "$VOC_URL" "$tar_file" || offline "$VOC_URL" "$tar_file" CFC_VOC_URL
  echo "$VOC_MD5  $tar_file" | md5sum -c - >/dev/null 2>&1 || die "$tar_file: MD5 mismatch again (not VOC2007 test?)"
fi
tar -xf "$tar_file" -C "$DEST"
[ "$(wc -l < "$DEST/VOCdevkit/VOC2007/ImageSets/Main/test.txt")" = 4952 ] || die "VOC2007 test should list 4952 images"
echo "VOC2007 test ready in $DEST/VOCdevkit/VOC2007"
fi
[ "$PART" = voc ] && exit 0

weights="$DEST/yolo-voc.weights"
[ -f "$weights" ] || fetch "$WEIGHTS_URL" "$weights" || offline "$WEIGHTS_URL" "$weights" CFC_WEIGHTS_URL
if [ "$(stat -c %s "$weights")" != "$WEIGHTS_BYTES" ]; then
  mv "$weights" "$weights.bad"
  echo "download_voc.sh: $weights is not $WEIGHTS_BYTES bytes (moved to $weights.bad); downloading it again" >&2
  fetch "$WEIGHTS_URL" "$weights" || offline "$WEIGHTS_URL" "$weights" CFC_WEIGHTS_URL
  [ "$(stat -c %s "$weights")" = "$WEIGHTS_BYTES" ] || die "$weights is not $WEIGHTS_BYTES bytes: not the YOLOv2-VOC weights"
fi
PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" - "$weights" <<'PY'
import sys
from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import load_weights
header = load_weights(DarknetModel(builtin_cfg("yolo-voc")), sys.argv[1])
print(f"weights load strictly into yolo-voc.cfg (version {header.major}.{header.minor}.{header.revision}, seen {header.seen})")
PY
sha256sum "$weights"
echo "weights ready: $weights"

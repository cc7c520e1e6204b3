#!/usr/bin/env bash
# Fetch what the paper's real setting needs, on a machine with internet, and check it:
#   VOC2007 test (VOCtest_06-Nov-2007.tar, MD5 b6e924de25625d8de591ea690078ad9f) -> DEST/VOCdevkit/VOC2007
#   YOLOv2-VOC weights (yolov2-voc.weights, 202 704 264 bytes = what yolo-voc.cfg needs; loaded strictly by cfc-ref)
#
#   tools/download_voc.sh [DEST] [all|voc|weights]       # defaults: data, all
# then: cfc-ref run tools/configs/voc2007-yolo-voc.json
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
fetch() { if command -v curl >/dev/null; then curl -fL --retry 3 -o "$2" "$1"; else wget -O "$2" "$1"; fi; }
mkdir -p "$DEST"

if [ "$PART" != weights ]; then
tar_file="$DEST/VOCtest_06-Nov-2007.tar"
[ -f "$tar_file" ] || fetch "$VOC_URL" "$tar_file" || die "could not download $VOC_URL"
echo "$VOC_MD5  $tar_file" | md5sum -c - || die "$tar_file: MD5 mismatch (corrupted or not VOC2007 test)"
tar -xf "$tar_file" -C "$DEST"
[ "$(wc -l < "$DEST/VOCdevkit/VOC2007/ImageSets/Main/test.txt")" = 4952 ] || die "VOC2007 test should list 4952 images"
echo "VOC2007 test ready in $DEST/VOCdevkit/VOC2007"
fi
[ "$PART" = voc ] && exit 0

weights="$DEST/yolo-voc.weights"
[ -f "$weights" ] || fetch "$WEIGHTS_URL" "$weights" || die "could not download $WEIGHTS_URL"
[ "$(stat -c %s "$weights")" = "$WEIGHTS_BYTES" ] || die "$weights is not $WEIGHTS_BYTES bytes: not the YOLOv2-VOC weights"
PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 - "$weights" <<'PY'
import sys
from cfc_ref.detector.cfg import builtin_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.weights import load_weights
header = load_weights(DarknetModel(builtin_cfg("yolo-voc")), sys.argv[1])
print(f"weights load strictly into yolo-voc.cfg (version {header.major}.{header.minor}.{header.revision}, seen {header.seen})")
PY
sha256sum "$weights"
echo "weights ready: $weights"

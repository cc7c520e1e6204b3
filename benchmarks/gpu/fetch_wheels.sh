#!/bin/sh
# The Python packages the GPU machine's image lacks that the benchmark needs (the image's list: the device tool's
# KINDS.md), as wheels for its CPython 3.12 on x86-64 Linux, into benchmarks/gpu/wheels/ (git-ignored), to travel
# with a device call as `carry: ["benchmarks/gpu/wheels"]`. About 38 MB: PyAV (x265 in process, the HEVC encoder),
# pylibde265 (the in-process decoder conforming on the lossless streams), jsonschema and what it needs beside
# attrs. Versions are the ones this checkout's tests run with.
set -eu
cd "$(dirname "$0")"
mkdir -p wheels
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d wheels \
    av==18.1.0 pylibde265==0.1.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 \
    rpds-py==2026.9.1
ls wheels
du -sh wheels

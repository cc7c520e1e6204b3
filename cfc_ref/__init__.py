"""cfc-ref: reference for deep feature compression in collaborative object detection.

Components, one module each (spec/ has the normative text):
  qlayer        Q-layer, eqs. (2)–(3)             spec/qlayer.md
  qlayer_torch  batched Q-layer (CPU/CUDA)
  tiling        channels → picture                spec/tiling.md
  tiling_fast   vectorised / batched tiling
  fused         Q-layer + tiling in one compiled pass (numba, optional)
  codecs/       picture codecs by wire id         spec/container.md W-3, spec/codec.md
  baseline      cloud-only baseline (JPEG, HEVC)  spec/codec.md H-7
  container     wire format                       spec/container.md
  accounting    KBPI bit accounting               spec/container.md W-5
  pipeline      features ⇄ container bytes
  detector/     YOLOv2-VOC, Darknet-exact; split points; loss; profile   spec/detector.md
  metrics/      VOC AP/mAP, BD-KBPI-mAP, annotation/detection files    spec/metrics.md
  data/         the synthetic VOC-layout dataset of the embedded default
  experiment/   sweep runner, aggregation, report (Table 1, Figs.), embedded default
  training/     training loop, codec in the loop (compression-augmented)   spec/training.md
  zoo/          shipped weights of the embedded default
  fileio        atomic writes
  conformance/  adapter protocol for other implementations   spec/conformance.md
"""

__version__ = "0.1.0"
SPEC_VERSION = "2"  # spec/README.md O-0.1

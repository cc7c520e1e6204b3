"""HEVC coding settings, exactly as spec/codec.md pins them (H-1, H-2.1, H-3.1)."""

from __future__ import annotations

from typing import Literal

from cfc_ref.errors import CodecError

Quality = int | Literal["lossless"]
MAX_HEVC_BIT_DEPTH = 12

# H-2.1: the HM-16.12 options common to every picture, in order (the hm_options of golden/hm-16.12/).
HM_COMMON_OPTIONS = (
    "--Profile=main-RExt", "--Tier=main", "--MaxCUWidth=16", "--MaxCUHeight=16", "--MaxPartitionDepth=2",
    "--QuadtreeTULog2MaxSize=4", "--QuadtreeTULog2MinSize=2", "--QuadtreeTUMaxDepthInter=3",
    "--QuadtreeTUMaxDepthIntra=3", "--IntraPeriod=1", "--DecodingRefreshType=0", "--GOPSize=1", "--FastSearch=1",
    "--SearchRange=64", "--HadamardME=1", "--FEN=1", "--FDM=1", "--MaxDeltaQP=0", "--MaxCuDQPDepth=0",
    "--DeltaQpRD=0", "--RDOQ=0", "--RDOQTS=0", "--LoopFilterOffsetInPPS=1", "--LoopFilterDisable=0",
    "--LoopFilterBetaOffset_div2=0", "--LoopFilterTcOffset_div2=0", "--DeblockingFilterMetric=0", "--SAO=1",
    "--AMP=1", "--TransformSkip=1", "--TransformSkipFast=1", "--SAOLcuBoundary=0", "--SliceMode=0",
    "--SliceArgument=1500", "--LFCrossSliceBoundaryFlag=1", "--PCMEnabledFlag=0", "--PCMLog2MaxSize=5",
    "--PCMLog2MinSize=3", "--PCMInputBitDepthFlag=1", "--PCMFilterDisableFlag=0", "--TileUniformSpacing=0",
    "--NumTileColumnsMinus1=0", "--NumTileRowsMinus1=0", "--LFCrossTileBoundaryFlag=1", "--WaveFrontSynchro=0",
    "--ScalingList=0", "--ExtendedPrecision=0", "--TransformSkipLog2MaxSize=2", "--ImplicitResidualDPCM=1",
    "--ExplicitResidualDPCM=1", "--ResidualRotation=1", "--SingleSignificanceMapContext=1",
    "--IntraReferenceSmoothing=1", "--GolombRiceParameterAdaptation=1", "--HighPrecisionPredictionWeighting=1",
    "--CrossComponentPrediction=1", "--InputChromaFormat=400", "--ChromaFormatIDC=400", "--FramesToBeEncoded=1",
    "--FrameRate=1",
)
HM_LOSSLESS_OPTIONS = ("--CostMode=lossless", "--TransquantBypassEnable=1", "--CUTransquantBypassFlagForce=1", "--QP=0")

# H-3.1: x265 parameters, in order; the quality setting is appended.
X265_PARAMS = (
    "ctu=16", "min-cu-size=8", "max-tu-size=16", "tu-intra-depth=3", "keyint=1", "min-keyint=1", "bframes=0",
    "rdoq-level=0", "psy-rd=0", "psy-rdoq=0", "aq-mode=0", "sao=1", "tskip=1", "frame-threads=1", "pools=none",
    "wpp=0", "info=0", "hash=0", "repeat-headers=0", "log-level=error",
)
X265_PRESET = "medium"
X265_PIXEL_FORMATS = {8: "gray", 10: "gray10le", 12: "gray12le"}


def check_quality(quality: object) -> Quality:
    """H-1.3: 'lossless' or an integer QP in 0..51."""
    if quality == "lossless":
        return "lossless"
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 51:
        raise CodecError(f"quality must be 'lossless' or an integer QP in 0..51, got {quality!r}")
    return quality


def coded_bit_depth(bit_depth: int) -> int:
    """H-1.1: b = max(n, 8); n > 12 is refused."""
    if not 1 <= bit_depth <= MAX_HEVC_BIT_DEPTH:
        raise CodecError(f"HEVC coding supports Q-layer bit depths 1..{MAX_HEVC_BIT_DEPTH}, got {bit_depth}")
    return max(bit_depth, 8)


def hm_options(width: int, height: int, coded_depth: int, quality: Quality) -> list[str]:
    """H-2.1: the full HM-16.12 option list for one picture."""
    per_picture = [f"--SourceWidth={width}", f"--SourceHeight={height}", f"--InputBitDepth={coded_depth}",
                   f"--InternalBitDepth={coded_depth}", f"--OutputBitDepth={coded_depth}"]
    tail = list(HM_LOSSLESS_OPTIONS) if quality == "lossless" else [f"--QP={quality}"]
    return list(HM_COMMON_OPTIONS) + per_picture + tail


def x265_params(quality: Quality) -> str:
    """H-3.1: the x265-params string."""
    tail = "lossless=1" if quality == "lossless" else f"qp={quality}"
    return ":".join(X265_PARAMS + (tail,))

"""The package's documented error types (one per component, all ``ValueError`` subclasses).

Callers can catch :class:`CfcError` for anything this package rejects; each component raises only its own type
(spec/container.md W-4.1, spec/qlayer.md Q-1, spec/tiling.md T-1).
"""


class CfcError(ValueError):
    """Base class of every error cfc-ref raises on bad input."""


class QLayerError(CfcError):
    """Rejected Q-layer input: NaN/Inf, empty tensor, bad bit depth, bad side info (spec Q-1, Q-2, Q-4.2)."""


class TilingError(CfcError):
    """Rejected tiling input: bad shape, alignment, or picture size (spec T-1, T-4, T-5.2)."""


class ContainerError(CfcError):
    """Rejected container bytes or fields (spec W-4). The message names the byte offset and the field."""


class CodecError(CfcError):
    """A codec could not encode or decode, or an external codec failed (spec/codec.md)."""


class DecoderRefusal(CodecError):
    """No installed decoder can vouch for this stream (spec H-4.3, H-4.4): refused, never a wrong picture."""


class DarknetError(CfcError):
    """A Darknet .cfg or .weights file that cannot be used (spec/detector.md D-1.1, D-3.2)."""


class MetricsError(CfcError):
    """Detections, annotations or rate–accuracy curves that cannot be evaluated (spec/metrics.md)."""


class TrainingError(CfcError):
    """A training configuration or checkpoint that cannot be used (spec/training.md)."""

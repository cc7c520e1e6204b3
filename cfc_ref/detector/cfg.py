"""Darknet ``.cfg`` files: parse, write, the built-in YOLOv2-VOC networks, width multiplier (spec D-1, D-7)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from cfc_ref.errors import DarknetError

BUILTIN = ("yolo-voc", "yolo-voc.2.0")
# D-1.4 bounds, checked before any memory is taken: generous for every published Darknet network.
MAX_SIDE = 8192  # input width and height
MAX_CHANNELS = 65536  # input channels and conv filters
MAX_KERNEL = 15  # conv size
MAX_STRIDE = 64  # conv, maxpool and reorg strides, maxpool size
MAX_ACTIVATION = 1 << 28  # samples of one layer output for one image (1 GiB in float32)
MAX_PARAMETERS = 1 << 29  # float32 values in all conv layers (2 GiB)
SPLIT_TYPE_NAMES = {"convolutional": "conv", "maxpool": "max", "route": "route", "reorg": "reorg", "region": "region"}


@dataclass(frozen=True)
class Conv:
    filters: int
    size: int
    stride: int = 1
    padding: int = 0
    batch_normalize: bool = False
    activation: str = "leaky"


@dataclass(frozen=True)
class MaxPool:
    size: int = 2
    stride: int = 2


@dataclass(frozen=True)
class Route:
    layers: tuple[int, ...]  # absolute layer indices


@dataclass(frozen=True)
class Reorg:
    stride: int = 2


@dataclass(frozen=True)
class Region:
    anchors: tuple[float, ...]
    classes: int = 20
    coords: int = 4
    num: int = 5
    softmax: bool = True
    thresh: float = 0.6
    object_scale: float = 5.0
    noobject_scale: float = 1.0
    class_scale: float = 1.0
    coord_scale: float = 1.0
    rescore: bool = True
    bias_match: bool = True


Layer = Conv | MaxPool | Route | Reorg | Region


@dataclass(frozen=True)
class NetworkConfig:
    width: int
    height: int
    channels: int
    layers: tuple[Layer, ...]
    net_options: dict[str, str] = field(default_factory=dict)

    def split_name(self, index: int) -> str:
        """D-1.2: ``<type>_<index>``, e.g. ``max_17``."""
        kind = {Conv: "convolutional", MaxPool: "maxpool", Route: "route", Reorg: "reorg", Region: "region"}
        return f"{SPLIT_TYPE_NAMES[kind[type(self.layers[index])]]}_{index}"

    @property
    def region(self) -> Region:
        last = self.layers[-1]
        if not isinstance(last, Region):
            raise DarknetError("the network does not end with a [region] layer")
        return last


def _sections(text: str) -> list[tuple[str, dict[str, tuple[str, int]], int]]:
    sections: list[tuple[str, dict[str, tuple[str, int]], int]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[#;]", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise DarknetError(f"line {number}: malformed section header {raw.strip()!r}")
            sections.append((line[1:-1].strip().lower(), {}, number))
            continue
        if "=" not in line:
            raise DarknetError(f"line {number}: expected key=value, got {raw.strip()!r}")
        if not sections:
            raise DarknetError(f"line {number}: option before the first section")
        key, value = (part.strip() for part in line.split("=", 1))
        sections[-1][1][key] = (value, number)
    return sections


class _Options:
    """Typed access to one section's ``key=value`` pairs, with errors that name the line."""

    def __init__(self, options: dict[str, tuple[str, int]], where: int) -> None:
        self.options, self.where = options, where

    def has(self, key: str) -> bool:
        return key in self.options

    def _raw(self, key: str, required: bool) -> tuple[str, int] | None:
        if key not in self.options:
            if required:
                raise DarknetError(f"line {self.where}: missing required key {key!r}")
            return None
        return self.options[key]

    def get_int(self, key: str, default: int | None = None) -> int:
        raw = self._raw(key, default is None)
        if raw is None:
            return int(default)  # type: ignore[arg-type]
        value, number = raw
        try:
            return int(float(value)) if "." in value else int(value)  # Darknet reads integers with atoi
        except ValueError:
            raise DarknetError(f"line {number}: {key}={value!r} is not an integer") from None

    def get_float(self, key: str, default: float) -> float:
        raw = self._raw(key, False)
        if raw is None:
            return default
        value, number = raw
        try:
            return float(value)
        except ValueError:
            raise DarknetError(f"line {number}: {key}={value!r} is not a number") from None

    def get_str(self, key: str, default: str) -> str:
        raw = self._raw(key, False)
        return default if raw is None else raw[0]

    def get_list(self, key: str, kind: type) -> list:
        raw = self._raw(key, True)
        assert raw is not None
        value, number = raw
        try:
            return [kind(v) for v in value.split(",")]
        except ValueError:
            raise DarknetError(f"line {number}: {key}={value!r} is not a list of {kind.__name__}s") from None


ACTIVATIONS = ("leaky", "linear", "logistic")  # D-2.1


def _layer(kind: str, section: _Options, index: int) -> Layer:
    where = section.where
    if kind in ("convolutional", "conv"):
        filters, size = section.get_int("filters", 1), section.get_int("size", 1)  # D-1.5: Darknet's defaults
        padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
        activation = section.get_str("activation", "logistic")
        if activation not in ACTIVATIONS:
            raise DarknetError(f"line {where}: activation {activation!r} is not supported ({', '.join(ACTIVATIONS)})")
        conv = Conv(filters, size, section.get_int("stride", 1), padding,
                    bool(section.get_int("batch_normalize", 0)), activation)
        if conv.filters < 1 or conv.size < 1 or conv.stride < 1 or conv.padding < 0:
            raise DarknetError(f"line {where}: filters, size and stride must be >= 1, padding >= 0")
        return conv
    if kind in ("maxpool", "max"):
        stride = section.get_int("stride", 1)  # D-1.5: Darknet's parse_maxpool: stride 1, size = stride
        pool = MaxPool(section.get_int("size", stride), stride)
        if pool.size < 1 or pool.stride < 1:
            raise DarknetError(f"line {where}: maxpool size and stride must be >= 1")
        return pool
    if kind == "route":
        relative = section.get_list("layers", int)
        absolute = tuple(index + v if v < 0 else v for v in relative)
        if any(not 0 <= a < index for a in absolute):
            raise DarknetError(f"line {where}: route to a layer that does not exist yet ({relative})")
        return Route(absolute)
    if kind == "reorg":
        reorg = Reorg(section.get_int("stride", 1))
        if reorg.stride < 1:
            raise DarknetError(f"line {where}: reorg stride must be >= 1")
        return reorg
    if kind == "region":
        num = section.get_int("num", 1)
        anchors = tuple(section.get_list("anchors", float)) if section.has("anchors") else (0.5,) * (2 * num)
        region = Region(anchors, section.get_int("classes", 20),
                        section.get_int("coords", 4), num, bool(section.get_int("softmax", 0)),
                        section.get_float("thresh", 0.5),
                        section.get_float("object_scale", 1.0), section.get_float("noobject_scale", 1.0),
                        section.get_float("class_scale", 1.0), section.get_float("coord_scale", 1.0),
                        bool(section.get_int("rescore", 0)), bool(section.get_int("bias_match", 0)))
        if not all(math.isfinite(a) and a > 0 for a in region.anchors):
            raise DarknetError(f"line {where}: anchors must be finite and positive, got {list(region.anchors)}")
        if len(region.anchors) != 2 * region.num or region.coords != 4 or region.classes < 1:
            raise DarknetError(f"line {where}: need coords=4, classes >= 1 and 2·num anchors "
                               f"({len(region.anchors)} anchors for num={region.num})")
        return region
    raise DarknetError(f"line {where}: unknown layer type [{kind}]")


def _limit(value: int, bound: int, what: str, where: str) -> None:
    if value > bound:
        raise DarknetError(f"{where}: {what} {value} exceeds the bound {bound} (spec D-1.4)")


def network_shapes(config: NetworkConfig, lines: tuple[int, ...] | None = None) -> list[tuple[int, int, int]]:
    """D-1.4: every layer's output shape C×H×W for one image, with the bounds and the geometry checked (a route's
    inputs of one size, a reorg that divides); a DarknetError naming the layer (and its line) otherwise."""
    _limit(max(config.width, config.height), MAX_SIDE, "input side", "[net]")
    _limit(config.channels, MAX_CHANNELS, "input channels", "[net]")
    shape = (config.channels, config.height, config.width)
    shapes: list[tuple[int, int, int]] = []
    parameters = 0
    for index, layer in enumerate(config.layers):
        where = f"line {lines[index]}" if lines else f"layer {index}"
        c, h, w = shape
        if isinstance(layer, Conv):
            _limit(layer.filters, MAX_CHANNELS, "filters", where)
            _limit(layer.size, MAX_KERNEL, "size", where)
            _limit(layer.stride, MAX_STRIDE, "stride", where)
            _limit(layer.padding, MAX_KERNEL, "padding", where)
            parameters += layer.filters * (c * layer.size * layer.size + 4)
            _limit(parameters, MAX_PARAMETERS, "parameters so far", where)
            h, w = ((side + 2 * layer.padding - layer.size) // layer.stride + 1 for side in (h, w))
            shape = (layer.filters, h, w)
        elif isinstance(layer, MaxPool):
            _limit(max(layer.size, layer.stride), MAX_STRIDE, "maxpool size or stride", where)
            shape = (c, (h - 1) // layer.stride + 1, (w - 1) // layer.stride + 1)  # D-2.2: padding size − 1
        elif isinstance(layer, Reorg):
            s = layer.stride
            _limit(s, MAX_STRIDE, "reorg stride", where)
            if h % s or w % s or c % (s * s):
                raise DarknetError(f"{where}: reorg stride {s} needs H, W divisible by {s} and C by {s * s}, "
                                   f"its input is {c}×{h}×{w}")
            shape = (c * s * s, h // s, w // s)
        elif isinstance(layer, Route):
            sides = {shapes[i][1:] for i in layer.layers}
            if len(sides) != 1:
                raise DarknetError(f"{where}: route joins outputs of different sizes {sorted(sides)}")
            shape = (sum(shapes[i][0] for i in layer.layers), *sides.pop())
        if shape[1] < 1 or shape[2] < 1:
            raise DarknetError(f"{where}: the output would be empty ({shape[0]}×{shape[1]}×{shape[2]})")
        _limit(shape[0] * shape[1] * shape[2], MAX_ACTIVATION, "output samples", where)
        shapes.append(shape)
    return shapes


def parse_cfg(text: str) -> NetworkConfig:
    """D-1.1: parse a Darknet cfg; D-1.4: sizes and geometry checked before any memory is taken."""
    sections = _sections(text)
    if not sections or sections[0][0] not in ("net", "network"):
        raise DarknetError("the first section must be [net]")
    _, net, where = sections[0]
    options = _Options(net, where)
    width, height, channels = options.get_int("width"), options.get_int("height"), options.get_int("channels", 3)
    if width < 1 or height < 1 or channels < 1:
        raise DarknetError(f"line {where}: width, height and channels must be >= 1")
    layers = tuple(_layer(kind, _Options(opts, line), i) for i, (kind, opts, line) in enumerate(sections[1:]))
    if not layers:
        raise DarknetError("the cfg has no layers")
    if any(isinstance(layer, Region) for layer in layers[:-1]):
        raise DarknetError("[region] must be the last layer")
    config = NetworkConfig(width, height, channels, layers, {k: v for k, (v, _) in net.items()})
    network_shapes(config, tuple(line for _, _, line in sections[1:]))
    return config


MAX_CFG_BYTES = 1 << 20  # a cfg file larger than this is refused unread (a YOLOv2 cfg is about 3 KB)


def load_cfg(path: str | Path) -> NetworkConfig:
    """A cfg file (a regular file, at most 1 MiB, UTF-8), parsed strictly (D-1)."""
    from cfc_ref.fileio import read_text_bounded

    return parse_cfg(read_text_bounded(path, MAX_CFG_BYTES, DarknetError))


def builtin_cfg(name: str = "yolo-voc") -> NetworkConfig:
    """D-1.3: ``yolo-voc`` (the package's default) or ``yolo-voc.2.0``."""
    if name not in BUILTIN:
        raise DarknetError(f"no built-in cfg {name!r}; have {BUILTIN}")
    return parse_cfg(resources.files("cfc_ref.detector").joinpath(f"cfg/{name}.cfg").read_text())


def write_cfg(config: NetworkConfig) -> str:
    """A cfg text that ``parse_cfg`` reads back as ``config`` (and Darknet/OpenCV read as the same network)."""
    lines = ["[net]"] + [f"{k}={v}" for k, v in config.net_options.items() if k not in ("width", "height", "channels")]
    lines += [f"width={config.width}", f"height={config.height}", f"channels={config.channels}"]
    for index, layer in enumerate(config.layers):
        if isinstance(layer, Conv):
            lines += ["", "[convolutional]"] + (["batch_normalize=1"] if layer.batch_normalize else [])
            lines += [f"filters={layer.filters}", f"size={layer.size}", f"stride={layer.stride}", "pad=0",
                      f"padding={layer.padding}", f"activation={layer.activation}"]
        elif isinstance(layer, MaxPool):
            lines += ["", "[maxpool]", f"size={layer.size}", f"stride={layer.stride}"]
        elif isinstance(layer, Route):
            lines += ["", "[route]", "layers=" + ",".join(str(a - index) for a in layer.layers)]
        elif isinstance(layer, Reorg):
            lines += ["", "[reorg]", f"stride={layer.stride}"]
        else:
            lines += ["", "[region]", "anchors=" + ", ".join(repr(a) for a in layer.anchors),
                      f"bias_match={int(layer.bias_match)}", f"classes={layer.classes}", f"coords={layer.coords}",
                      f"num={layer.num}", f"softmax={int(layer.softmax)}", f"rescore={int(layer.rescore)}",
                      f"object_scale={layer.object_scale!r}", f"noobject_scale={layer.noobject_scale!r}",
                      f"class_scale={layer.class_scale!r}", f"coord_scale={layer.coord_scale!r}",
                      f"thresh={layer.thresh!r}"]
    return "\n".join(lines) + "\n"


def scale_width(config: NetworkConfig, factor: float) -> NetworkConfig:
    """D-7.1: every conv's filters × factor (rounded, ≥ 1), except the last conv before the region layer."""
    if not factor > 0:
        raise DarknetError(f"width factor must be > 0, got {factor}")
    convs = [i for i, layer in enumerate(config.layers) if isinstance(layer, Conv)]
    last = convs[-1] if isinstance(config.layers[-1], Region) else None
    layers = tuple(replace(layer, filters=max(1, round(layer.filters * factor)))
                   if isinstance(layer, Conv) and i != last else layer for i, layer in enumerate(config.layers))
    return replace(config, layers=layers)


def with_input_size(config: NetworkConfig, width: int, height: int) -> NetworkConfig:
    if width < 1 or height < 1:
        raise DarknetError(f"input size must be >= 1, got {width}×{height}")
    resized = replace(config, width=width, height=height)
    network_shapes(resized)
    return resized


def with_classes(config: NetworkConfig, classes: int, anchors: tuple[float, ...] | None = None) -> NetworkConfig:
    """The same network for another class count (and optionally anchors): the region layer and the last
    convolution's filters, num·(5 + classes), change; nothing else does."""
    region = config.region
    anchors = region.anchors if anchors is None else tuple(anchors)
    if classes < 1 or len(anchors) != 2 * region.num:
        raise DarknetError(f"need classes >= 1 and {2 * region.num} anchor values")
    last_conv = max(i for i, layer in enumerate(config.layers) if isinstance(layer, Conv))
    conv = config.layers[last_conv]
    assert isinstance(conv, Conv)
    layers = list(config.layers)
    layers[last_conv] = replace(conv, filters=region.num * (5 + classes))
    layers[-1] = replace(region, classes=classes, anchors=anchors)
    return replace(config, layers=tuple(layers))

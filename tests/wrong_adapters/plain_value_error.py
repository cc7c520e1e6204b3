"""Wrong on purpose: rejects every bad input, but always with a plain ValueError (spec C-1.3 names the category)."""

from cfc_ref.conformance import reference


def _plain(function):
    def wrapped(*args):
        try:
            return function(*args)
        except ValueError as err:
            raise ValueError(str(err)) from None

    return wrapped


quantize = _plain(reference.quantize)
dequantize = _plain(reference.dequantize)
tile = _plain(reference.tile)
untile = _plain(reference.untile)
pack = _plain(reference.pack)
parse = _plain(reference.parse)

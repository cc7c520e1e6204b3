"""One attribute of a module replaced while a call runs: how a wrong adapter changes exactly one rule of the
reference."""

from contextlib import contextmanager


@contextmanager
def patched(owner, name, value):
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield original
    finally:
        setattr(owner, name, original)


def forwarding(function, owner, name, value):
    """``function`` of the reference, called with ``owner.name`` replaced by ``value``."""
    def call(*args):
        with patched(owner, name, value):
            return function(*args)
    return call

"""Wrong on purpose: batch norm as torch's (F.batch_norm, ε = 1e-5 inside the square root) instead of Darknet's
sqrt(variance) + 1e-6 (spec D-2.1)."""

from wrong_adapters._model import network_adapter
from wrong_adapters.bn_epsilon_in_variance import with_epsilon

PROFILES = ("detector.network",)

split_forward, back_forward = network_adapter(with_epsilon(1e-5))

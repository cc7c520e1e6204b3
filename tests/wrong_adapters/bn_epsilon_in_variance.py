"""Wrong on purpose: batch norm with Darknet's ε added to the variance, (x − mean)/sqrt(variance + 1e-6), instead
of to the standard deviation (spec D-2.1)."""

import torch
from torch import nn

from wrong_adapters._model import network_adapter

PROFILES = ("detector.network",)
EPSILON = 0.000001


class _VarianceEpsilon(nn.Module):
    def __init__(self, norm, epsilon):
        super().__init__()
        self.norm, self.epsilon = norm, epsilon

    def forward(self, x):
        shape = (1, -1, 1, 1)
        n = self.norm
        return ((x - n.rolling_mean.view(shape)) / torch.sqrt(n.rolling_variance.view(shape) + self.epsilon)
                * n.scale.view(shape) + n.bias.view(shape))


def with_epsilon(epsilon):
    def change(model):
        for layer in model.layers:
            if getattr(layer, "norm", None) is not None:
                layer.norm = _VarianceEpsilon(layer.norm, epsilon)
        return model
    return change


split_forward, back_forward = network_adapter(with_epsilon(EPSILON))

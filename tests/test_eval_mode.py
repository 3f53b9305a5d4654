"""``eval_mode``: networks in eval mode inside the block, every layer's own mode afterwards."""

from __future__ import annotations

import pytest
from torch import nn

from dasr.archs.modes import eval_mode


def test_every_layer_gets_its_own_mode_back_even_after_an_error() -> None:
    network = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm2d(3)))
    network.train()
    network[2].eval()  # a frozen part, as a fine-tuning caller may keep it
    other = nn.BatchNorm2d(3).train()
    with pytest.raises(RuntimeError), eval_mode(network, other):
        assert not any(module.training for module in (*network.modules(), other))
        raise RuntimeError
    assert network.training and network[1].training and other.training
    assert not network[2].training and not network[2][0].training

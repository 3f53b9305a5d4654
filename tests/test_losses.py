"""Pixel and GAN losses against hand-computed values, and the weight map's effect on gradients."""

import math

import pytest
import torch
import torch.nn.functional as F

from dasr.losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    weighted_l1,
)


def test_weighted_l1_without_weight_is_plain_l1():
    pred, target = torch.rand(2, 3, 5, 4), torch.rand(2, 3, 5, 4)
    assert torch.allclose(weighted_l1(pred, target), F.l1_loss(pred, target))


def test_weighted_l1_hand_computed_mean_over_all_elements():
    pred = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, -1.0]]]])  # (1, 2, 2, 2)
    target = torch.zeros_like(pred)
    weight = torch.tensor([[[[1.0, 0.0], [0.5, 2.0]]]])  # (1, 1, 2, 2), shared by both channels
    # channel 0: 1*1 + 0*2 + 0.5*3 + 2*4 = 10.5; channel 1: 2*1 = 2; divided by all 8 elements
    assert weighted_l1(pred, target, weight).item() == pytest.approx(12.5 / 8)


def test_weight_map_is_resized_bilinearly_to_the_prediction():
    pred, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    weight = torch.rand(2, 1, 4, 4)
    resized = F.interpolate(weight, size=(8, 8), mode="bilinear", align_corners=False)
    expected = (resized * (pred - target).abs()).mean()
    assert torch.allclose(weighted_l1(pred, target, weight), expected)
    constant = torch.full((2, 1, 2, 2), 0.25)
    assert torch.allclose(weighted_l1(pred, target, constant), 0.25 * F.l1_loss(pred, target))


def test_zero_weight_gives_zero_gradient():
    pred = torch.rand(1, 3, 4, 4, requires_grad=True)
    target = torch.rand(1, 3, 4, 4)
    weight = torch.ones(1, 1, 4, 4)
    weight[0, 0, 1, 2] = 0.0
    weighted_l1(pred, target, weight).backward()
    assert torch.all(pred.grad[0, :, 1, 2] == 0)
    expected = torch.sign(pred.detach() - target) * weight / pred.numel()
    assert torch.allclose(pred.grad, expected)


def test_weighted_l1_float64():
    pred, target = torch.rand(1, 3, 4, 4, dtype=torch.float64), torch.rand(1, 3, 4, 4, dtype=torch.float64)
    loss = weighted_l1(pred, target, torch.rand(1, 1, 2, 2, dtype=torch.float64))
    assert loss.dtype == torch.float64


@pytest.mark.parametrize(
    "pred_shape, weight_shape",
    [((1, 3, 4, 4), (1, 3, 4, 4)), ((2, 3, 4, 4), (1, 1, 4, 4)), ((1, 3, 4, 4), (1, 4, 4))],
)
def test_bad_weight_shapes_are_reported(pred_shape, weight_shape):
    with pytest.raises(ValueError, match="weight map must have shape"):
        weighted_l1(torch.rand(pred_shape), torch.rand(pred_shape), torch.rand(weight_shape))


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"\(1, 3, 4, 4\) and \(1, 3, 4, 5\)"):
        weighted_l1(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))


def test_gan_losses_at_zero_logits():
    zeros = torch.zeros(2, 1, 3, 3)
    assert generator_adversarial_loss(zeros).item() == pytest.approx(math.log(2))
    assert discriminator_adversarial_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))


def test_gan_losses_match_the_sigmoid_formulas():
    real = torch.tensor([[[[1.0, -2.0]]], [[[0.3, 4.0]]]], dtype=torch.float64)  # (2, 1, 1, 2)
    fake = torch.tensor([[[[0.5, 3.0, -1.0]]]], dtype=torch.float64)  # another batch size
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_g = -torch.log(d_fake).mean()
    expected_d = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    assert generator_adversarial_loss(fake).item() == pytest.approx(expected_g.item(), rel=1e-12)
    assert discriminator_adversarial_loss(real, fake).item() == pytest.approx(expected_d.item(), rel=1e-12)


def test_gan_losses_are_stable_for_large_logits():
    fake = torch.tensor([-200.0, 200.0], requires_grad=True)
    loss = generator_adversarial_loss(fake)  # -log sigmoid(-200) = 200, -log sigmoid(200) = 0
    assert loss.item() == pytest.approx(100.0)
    loss.backward()
    assert torch.allclose(fake.grad, torch.tensor([-0.5, 0.0]))
    real = torch.tensor([300.0])
    assert discriminator_adversarial_loss(real, torch.tensor([300.0])).item() == pytest.approx(300.0)


def test_gan_losses_reject_non_float_logits():
    with pytest.raises(TypeError, match="fake_logits"):
        generator_adversarial_loss(torch.zeros(2, dtype=torch.long))

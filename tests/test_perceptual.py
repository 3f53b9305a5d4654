"""Perceptual losses with randomly initialised networks; the ImageNet weights are never needed:
loading them is tested with small stand-in files in a temporary torch hub cache, and the
offline errors with a download function that fails the way an offline machine does."""

from urllib.error import URLError

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from dasr.errors import DasrError
from dasr.losses import (
    VGG19_LAYERS,
    LPIPSLoss,
    PerceptualLoss,
    VGGFeatures,
    build_perceptual_loss,
)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache and a download that fails like a machine without network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    calls = []

    def no_network(url, *args, **kwargs):
        calls.append(url)
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return calls


@pytest.fixture(scope="module")
def lpips_random():
    pytest.importorskip("lpips")
    return LPIPSLoss(backbone_weights=None)


def test_layer_names_follow_torchvision_vgg19():
    features = make_layers(cfgs["E"])
    assert len(VGG19_LAYERS) == 16
    assert VGG19_LAYERS["conv1_1"] == 0 and VGG19_LAYERS["conv5_4"] == 34
    for index in VGG19_LAYERS.values():
        assert isinstance(features[index], nn.Conv2d) and isinstance(features[index + 1], nn.ReLU)
    assert sum(isinstance(module, nn.Conv2d) for module in features) == 16


@pytest.mark.parametrize(
    "layer, channels, stride",
    [("conv1_2", 64, 1), ("conv2_1", 128, 2), ("conv3_4", 256, 4), ("conv5_4", 512, 16)],
)
def test_features_stop_at_the_convolution_before_its_relu(layer, channels, stride):
    extractor = VGGFeatures(layer, weights=None)
    assert (
        isinstance(extractor.features[-1], nn.Conv2d) and len(extractor.features) == VGG19_LAYERS[layer] + 1
    )
    out = extractor(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, channels, 32 // stride, 32 // stride)
    assert (out < 0).any()  # pre-activation


def test_extractor_is_frozen_and_stays_in_eval_mode():
    extractor = VGGFeatures("conv1_2", weights=None)
    assert not any(parameter.requires_grad for parameter in extractor.parameters())
    nn.Sequential(extractor).train()
    assert not extractor.training


def test_imagenet_normalisation_is_applied():
    extractor = VGGFeatures("conv1_1", weights=None)
    x = torch.rand(1, 3, 8, 8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(extractor(x), extractor.features((x - mean) / std))


def test_unknown_layer_lists_the_valid_names():
    with pytest.raises(DasrError, match="conv1_1, conv1_2, .*conv5_4"):
        VGGFeatures("relu5_4", weights=None)


def test_perceptual_loss_is_zero_for_identical_images_and_grows_with_the_difference():
    loss = PerceptualLoss(VGGFeatures("conv1_2", weights=None))
    torch.manual_seed(0)
    target, noise = torch.rand(1, 3, 16, 16), torch.randn(1, 3, 16, 16)
    values = [loss(target + t * noise, target).item() for t in (1.0, 0.5, 0.1, 0.0)]
    assert values[-1] == 0.0
    assert values == sorted(values, reverse=True) and values[-2] > 0


def test_zero_weight_region_gets_no_gradient_through_the_features():
    loss = PerceptualLoss(VGGFeatures("conv1_2", weights=None))  # receptive field 5x5
    pred = torch.rand(1, 3, 16, 16, requires_grad=True)
    weight = torch.ones(1, 1, 16, 16)
    weight[..., :8] = 0.0
    loss(pred, torch.rand(1, 3, 16, 16), weight).backward()
    assert torch.all(pred.grad[..., :6] == 0)  # every feature these pixels reach has weight 0
    assert torch.all(pred.grad[..., 8:].abs().sum(dim=(0, 1, 2)) > 0)


def test_weight_map_is_resized_to_the_feature_resolution():
    loss = PerceptualLoss(VGGFeatures("conv2_1", weights=None))  # features at half resolution
    pred, target = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    weight = torch.rand(2, 1, 4, 4)
    difference = (loss.feature_extractor(pred) - loss.feature_extractor(target)).abs()
    resized = F.interpolate(weight, size=(8, 8), mode="bilinear", align_corners=False)
    assert torch.allclose(loss(pred, target, weight), (resized * difference).mean())
    assert torch.allclose(loss(pred, target, torch.full((2, 1, 4, 4), 0.5)), 0.5 * loss(pred, target))


def test_perceptual_loss_in_float64():
    loss = PerceptualLoss(VGGFeatures("conv1_2", weights=None)).double()
    pred, target = torch.rand(1, 3, 8, 8, dtype=torch.float64), torch.rand(1, 3, 8, 8, dtype=torch.float64)
    assert loss(pred, target).dtype == torch.float64


def _reference_features(layer):
    torch.manual_seed(1)
    return VGGFeatures(layer, weights=None).features


def test_loads_a_features_only_state_dict(tmp_path):
    path = tmp_path / "features.pth"
    torch.save(_reference_features("conv2_1").state_dict(), path)
    extractor = VGGFeatures("conv2_1", weights=path)
    for name, tensor in _reference_features("conv2_1").state_dict().items():
        assert torch.equal(extractor.features.state_dict()[name], tensor)


def test_loads_a_full_vgg19_state_dict_ignoring_the_classifier(tmp_path):
    state = {
        f"features.{name}": tensor for name, tensor in _reference_features("conv1_2").state_dict().items()
    }
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "vgg19.pth")
    extractor = VGGFeatures("conv1_2", weights=str(tmp_path / "vgg19.pth"))
    assert torch.equal(extractor.features[2].weight, state["features.2.weight"])


@pytest.mark.parametrize(
    "content, message",
    [
        ({"0.weight": torch.zeros(64, 3, 3, 3)}, "does not fit VGG-19 features: missing"),
        ({"0.weight": torch.zeros(8, 3, 3, 3), "0.bias": torch.zeros(8)}, "wrong shape"),
        ({"0.weight": torch.full((64, 3, 3, 3), float("nan")), "0.bias": torch.zeros(64)}, "holds NaN or Inf"),
        ([1, 2], "VGG-19 weights file '.*' holds a list, not a dict"),
        (b"not a checkpoint", "VGG-19 weights file '.*' is corrupt"),
        (None, "VGG-19 weights file '.*' does not exist"),
    ],
)
def test_bad_weight_files_are_user_errors(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(DasrError, match=message):
        VGGFeatures("conv1_1", weights=path)


def test_imagenet_weights_are_read_from_the_hub_cache_without_network(offline, tmp_path):
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    reference = _reference_features("conv1_2").state_dict()
    torch.save(
        {f"features.{name}": tensor for name, tensor in reference.items()}, checkpoints / "vgg19-dcbb9e9d.pth"
    )
    extractor = VGGFeatures("conv1_2", weights="imagenet")
    assert torch.equal(extractor.features[0].weight, reference["0.weight"])
    assert offline == []


def test_missing_vgg_weights_offline_name_the_fix(offline, tmp_path):
    with pytest.raises(DasrError) as error:
        build_perceptual_loss("vgg19", "conv1_2", "imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert "vgg19-dcbb9e9d.pth" in message and str(tmp_path / "torch" / "hub" / "checkpoints") in message
    assert "dsn.vgg_weights=PATH" in message and "--set dsn.perceptual=none" in message
    assert offline == ["https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"]  # one try


def test_missing_alexnet_weights_offline_name_the_fix(offline):
    pytest.importorskip("lpips")
    with pytest.raises(DasrError) as error:
        build_perceptual_loss("lpips")
    message = str(error.value)
    assert "\n" not in message
    assert "alexnet-owt-7be5be79.pth" in message and "--set dsn.perceptual=vgg19|none" in message
    assert len(offline) == 1


def test_lpips_loss_equals_the_lpips_package(lpips_random):
    torch.manual_seed(0)
    pred, target = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    expected = lpips_random.lpips(2 * pred - 1, 2 * target - 1).mean()
    assert torch.allclose(lpips_random(pred, target), expected, rtol=1e-5)
    assert lpips_random(target, target).item() == pytest.approx(0.0, abs=1e-7)


def test_lpips_loss_is_weighted_per_layer_and_deterministic_in_train_mode(lpips_random):
    pred, target = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    nn.Sequential(lpips_random).train()  # its dropout layers must stay off
    assert not any(parameter.requires_grad for parameter in lpips_random.parameters())
    assert torch.equal(lpips_random(pred, target), lpips_random(pred, target))
    half = lpips_random(pred, target, torch.full((1, 1, 16, 16), 0.5))
    assert torch.allclose(half, 0.5 * lpips_random(pred, target))


def test_build_perceptual_loss_follows_the_configuration(offline, tmp_path):
    assert build_perceptual_loss("none") is None
    with pytest.raises(DasrError, match="vgg19-dcbb9e9d.pth"):
        build_perceptual_loss("vgg19", "conv1_2", None)  # dsn.vgg_weights=null: ImageNet, never random
    path = tmp_path / "vgg.pth"
    torch.save(_reference_features("conv1_1").state_dict(), path)
    loss = build_perceptual_loss("vgg19", "conv1_1", str(path))
    assert isinstance(loss, PerceptualLoss) and loss.feature_extractor.layer == "conv1_1"
    with pytest.raises(DasrError, match="choose one of vgg19, lpips, none"):
        build_perceptual_loss("vgg16")
    with pytest.raises(DasrError, match="applies to dsn.perceptual=vgg19"):
        build_perceptual_loss("lpips", weights=str(path))

"""Prelude for the segmentation_models.pytorch (SMP) fixtures (variants with "source": "smp").

SMP itself is not installable here: its package __init__ pulls in datasets, losses and metrics, its encoder registry
imports timm, efficientnet_pytorch and pretrainedmodels for every encoder family, and its model base class imports
huggingface_hub for the hub mixin. The fixtures need only SMP's ResNet encoders (torchvision ResNets) and its nine
decoders, so this module, imported before any SMP code, makes exactly those importable and nothing more:

* ``segmentation_models_pytorch`` is made a bare package (its real ``__init__`` is not run), so importing
  ``segmentation_models_pytorch.decoders.<name>.model`` loads only that decoder, ``base`` and ``encoders``;
* ``segmentation_models_pytorch.encoders`` runs its real ``__init__`` (so the real ``get_encoder`` builds the encoder,
  with SMP's own depth, ``make_dilated`` and ``set_in_channels`` logic), but every encoder family other than
  ``resnet`` is a small local stand-in module whose registry dict is empty, and ``timm_universal`` is a stand-in
  class that refuses to build;
* the third-party modules those files import at top level get local stand-ins: ``timm`` (empty module),
  ``huggingface_hub`` (an empty ``PyTorchModelHubMixin`` and placeholders; the hub is never used),
  ``pretrainedmodels.models.torchvision_models`` (its ``pretrained_settings`` for resnet18..152, which SMP's
  resnet.py reads at import; no weights are ever downloaded, the fixtures use ``encoder_weights=None``).

Nothing here changes an SMP module's code: every network is SMP's own class with SMP's own encoder.
"""
import importlib.abc
import importlib.machinery
import sys
import types

PACKAGE = "segmentation_models_pytorch"

# SMP's encoder families other than the torchvision ResNets, with the registry name each one exports.
_STUB_ENCODER_MODULES = {
    "dpn": "dpn_encoders",
    "vgg": "vgg_encoders",
    "senet": "senet_encoders",
    "densenet": "densenet_encoders",
    "inceptionresnetv2": "inceptionresnetv2_encoders",
    "inceptionv4": "inceptionv4_encoders",
    "efficientnet": "efficient_net_encoders",
    "mobilenet": "mobilenet_encoders",
    "xception": "xception_encoders",
    "timm_efficientnet": "timm_efficientnet_encoders",
    "timm_resnest": "timm_resnest_encoders",
    "timm_res2net": "timm_res2net_encoders",
    "timm_regnet": "timm_regnet_encoders",
    "timm_sknet": "timm_sknet_encoders",
    "timm_mobilenetv3": "timm_mobilenetv3_encoders",
    "timm_gernet": "timm_gernet_encoders",
    "mix_transformer": "mix_transformer_encoders",
    "mobileone": "mobileone_encoders",
}


class _TimmUniversalEncoderStandIn:
    """Stand-in for SMP's timm-backed encoder ("tu-" names), which needs timm."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("tu-* encoders need timm, which this fixture prelude does not provide")


class _StubLoader(importlib.abc.Loader):
    """Creates a module whose namespace is filled by a function instead of running a file."""

    def __init__(self, fill, package_path=None):
        self._fill = fill
        self._package_path = package_path

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if self._package_path is not None:
            module.__path__ = list(self._package_path)
        self._fill(module)


class _SmpFinder(importlib.abc.MetaPathFinder):
    """Serves the bare SMP package and the stand-in encoder modules; every other SMP module is SMP's own file."""

    def find_spec(self, name, path=None, target=None):
        if name == PACKAGE:
            real = importlib.machinery.PathFinder.find_spec(name, sys.path)
            if real is None:
                return None
            locations = list(real.submodule_search_locations)
            spec = importlib.machinery.ModuleSpec(name, _StubLoader(lambda m: None, locations), is_package=True)
            spec.submodule_search_locations = locations
            return spec
        prefix = PACKAGE + ".encoders."
        if name.startswith(prefix):
            short = name[len(prefix):]
            if short in _STUB_ENCODER_MODULES:
                registry = _STUB_ENCODER_MODULES[short]
                return importlib.machinery.ModuleSpec(name, _StubLoader(lambda m: setattr(m, registry, {})))
            if short == "timm_universal":
                return importlib.machinery.ModuleSpec(
                    name, _StubLoader(lambda m: setattr(m, "TimmUniversalEncoder", _TimmUniversalEncoderStandIn)))
        return None


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _install_third_party_stand_ins():
    if "timm" not in sys.modules:
        sys.modules["timm"] = _module("timm")

    if "huggingface_hub" not in sys.modules:
        class PyTorchModelHubMixin:
            """Stand-in: the hub mixin adds no modules or parameters; saving and loading are never used here."""

            def save_pretrained(self, *args, **kwargs):
                raise RuntimeError("huggingface_hub stand-in")

            def push_to_hub(self, *args, **kwargs):
                raise RuntimeError("huggingface_hub stand-in")

            @classmethod
            def from_pretrained(cls, *args, **kwargs):
                raise RuntimeError("huggingface_hub stand-in")

        def hf_hub_download(*args, **kwargs):
            raise RuntimeError("huggingface_hub stand-in")

        sys.modules["huggingface_hub"] = _module(
            "huggingface_hub", PyTorchModelHubMixin=PyTorchModelHubMixin, ModelCard=object, ModelCardData=object,
            hf_hub_download=hf_hub_download)

    if "pretrainedmodels" not in sys.modules:
        urls = {
            "resnet18": "https://download.pytorch.org/models/resnet18-5c106cde.pth",
            "resnet34": "https://download.pytorch.org/models/resnet34-333f7ec4.pth",
            "resnet50": "https://download.pytorch.org/models/resnet50-19c8e357.pth",
            "resnet101": "https://download.pytorch.org/models/resnet101-5d3b4d8f.pth",
            "resnet152": "https://download.pytorch.org/models/resnet152-b121ed2d.pth",
        }
        settings = {
            name: {"imagenet": {"url": url, "input_space": "RGB", "input_size": [3, 224, 224], "input_range": [0, 1],
                                "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "num_classes": 1000}}
            for name, url in urls.items()
        }
        tv = _module("pretrainedmodels.models.torchvision_models", pretrained_settings=settings)
        models = _module("pretrainedmodels.models", torchvision_models=tv)
        models.__path__ = []
        package = _module("pretrainedmodels", models=models)
        package.__path__ = []
        sys.modules.update({"pretrainedmodels": package, "pretrainedmodels.models": models,
                            "pretrainedmodels.models.torchvision_models": tv})


_install_third_party_stand_ins()
if not any(isinstance(f, _SmpFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _SmpFinder())

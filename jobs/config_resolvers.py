"""Values the composed config derives instead of the job writing them in: the network's
input side (``${ferlens.input_size:}``) and which loaders carry AU maps
(``${ferlens.au_maps:}``). Registered by ``train.py`` before composing and by the training
job (a launcher's worker process), so that ``.hydra/config.yaml``, the logged
hyperparameters and the objects built all come from one unedited config."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

INPUT_SIZE = "ferlens.input_size"
AU_MAPS = "ferlens.au_maps"


def network_input_size(*, _root_: DictConfig) -> int | None:
    """``model.input_size``, or where it is null the network's own input side in pixels
    (``networks.registry.resolve_data_config``, or for a ``_target_`` network what its class
    declares, ``networks.custom``: builds nothing, reads no weights)."""
    from ferlens.networks.registry import resolve_data_config  # timm loads only when a job resolves it

    model = _root_.model
    if model.get("net") is None:  # prepare.py's config: faces are prepared at their own size
        return model.get("input_size")
    net: dict[str, Any] = OmegaConf.to_container(model.net, resolve=True)
    if net.get("_target_") == "???":
        from ferlens.user_errors import UserError

        raise UserError("model=custom needs your network's class: add model.net._target_=<package.module.Class> (its folder on PYTHONPATH).")
    if "_target_" in net:  # a user's own network: model.input_size, else what its class declares
        from ferlens.networks.custom import resolve_custom_data_config

        return resolve_custom_data_config(net, model.get("input_size"), model.get("normalization")).input_size
    extra = {key: value for key, value in net.items() if key not in ("name", "pretrained", "weights")}
    return resolve_data_config(net["name"], input_size=model.get("input_size"), normalization=model.get("normalization"), **extra).input_size


def au_maps_wanted(*, _root_: DictConfig) -> str:
    """``all`` (training batches too) when the model trains with AU guidance (weight > 0),
    else ``eval`` (validation and test batches, for the AU metrics)."""
    guidance = _root_.model.get("au_guidance")
    return "all" if guidance is not None and (guidance.get("weight") or 0) > 0 else "eval"


def register_config_resolvers() -> None:
    """Register both resolvers (again is a no-op)."""
    for name, resolver in ((INPUT_SIZE, network_input_size), (AU_MAPS, au_maps_wanted)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)

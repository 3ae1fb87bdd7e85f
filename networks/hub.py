"""Whether the Hugging Face hub (where timm keeps its ImageNet weights) can be reached, so
that a machine without internet fails in a second with one sentence instead of retrying
for a minute."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import constants, try_to_load_from_cache
from timm.models import PretrainedCfg

#: Seconds to wait for a TCP connection to the hub before calling it unreachable.
CONNECT_TIMEOUT = 3.0


def hub_unreachable_reason() -> str | None:
    """Why the hub cannot be used ("HF_HUB_OFFLINE is set", "<host> is unreachable: ..."),
    or None when a TCP connection to its endpoint (``HF_ENDPOINT``) opens."""
    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        return f"{endpoint.hostname}:{port} is unreachable ({error.strerror or type(error).__name__})"
    return None


@contextmanager
def hub_offline(offline: bool) -> Iterator[None]:
    """Within the block, huggingface_hub only reads its local cache when ``offline`` (as
    under ``HF_HUB_OFFLINE=1``): a cached file loads, a missing one fails at once."""
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = before or offline
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


#: The file names timm tries in a hub repository when its config names none, in its order.
HUB_WEIGHT_FILES = ("model.safetensors", "pytorch_model.safetensors", "pytorch_model.bin")


def weights_in_cache(cfg: PretrainedCfg) -> bool:
    """Whether the weights of a timm ``pretrained_cfg`` are on this machine: its local
    ``file``, a hub file in the Hugging Face cache (``hf_hub_id``), or a ``url`` download in
    torch hub's ``checkpoints/`` (where timm keeps them)."""
    if cfg.file:
        return Path(cfg.file).is_file()
    if cfg.hf_hub_id:
        repo, _, revision = cfg.hf_hub_id.partition("@")
        names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else HUB_WEIGHT_FILES
        return any(isinstance(try_to_load_from_cache(repo, name, revision=revision or None), str) for name in names)
    if cfg.url:
        return (Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(cfg.url).path).name).is_file()
    return False

"""The networks: a timm-style registry (``networks.registry``: ``build_network``,
``resolve_data_config``), one file per network, and reading a network's layers during the
forward pass (``networks.features``). This package file imports nothing, so that
``ferlens.networks.features`` (what the explainers use) loads no timm."""

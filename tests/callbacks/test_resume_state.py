import io
import random

import numpy as np
import torch

from ferlens.callbacks.resume_state import _random_state, _set_generators
from ferlens.datamodules.synthetic import SyntheticFaces
from ferlens.datamodules.transforms import FaceTransform


def _draws(transform: FaceTransform, face) -> tuple:
    image, landmarks = transform(face.image, face.landmarks)
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random(), image.sum().item(), landmarks.sum().item()


def test_the_saved_generators_draw_again_what_they_drew_after_saving():
    face = SyntheticFaces(4, 2, 64, seed=0)[1]
    transform = FaceTransform(64, augment=True, seed=5)
    for _ in range(3):  # move every generator away from its seed
        _draws(transform, face)
    state = _random_state(transform)
    buffer = io.BytesIO()
    torch.save(state, buffer)  # as in a checkpoint, and readable with weights_only
    expected = [_draws(transform, face) for _ in range(4)]
    restored = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    fresh = FaceTransform(64, augment=True, seed=99)
    _set_generators(restored)
    fresh.set_random_state(restored["transform"])
    assert [_draws(fresh, face) for _ in range(4)] == expected


def test_ctrl_c_during_an_explanation_pass_says_so_and_how_to_run_it_again(tmp_path, caplog):
    from types import SimpleNamespace

    from ferlens.callbacks.resume_state import ResumeState

    checkpoint = tmp_path / "trained" / "checkpoints" / "epoch003-acc0.9000.ckpt"
    trainer = SimpleNamespace(is_global_zero=True, state=SimpleNamespace(fn="validate"))
    module = SimpleNamespace(initial_checkpoint=str(checkpoint))
    with caplog.at_level("WARNING", logger="ferlens.resume"):
        ResumeState(str(tmp_path / "explained")).on_exception(trainer, module, KeyboardInterrupt())
    assert caplog.messages == [
        "Interrupted (Ctrl+C) during the explanation pass, before its heatmaps were written (no training to resume): "
        f"run it again with python train.py explain={tmp_path / 'trained'} (with the same settings)."
    ]

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

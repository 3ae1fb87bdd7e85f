"""Known truth for Study 2's AU guidance, short: on synthetic faces, the same network from
scratch with and without guidance; the guided one's layer attention must be clearly closer
to the AU maps (test ATT-COS of the best checkpoint), without losing its accuracy. The
full-size figures (three networks, two seeds, 12 epochs) are in the README."""

from __future__ import annotations

import pytest

from tests.conftest import run_train
from tests.test_train import _logged_metrics

SHORT = ["data.source.num_images=600", "data.source.num_subjects=30", "trainer.max_epochs=4", "logger=csv", "callbacks.progress_bar=null", "callbacks=default"]


@pytest.mark.slow
def test_guidance_raises_att_cos_clearly_on_synthetic_faces(tmp_path):
    metrics = {}
    for weight in (0, 9):
        done = run_train(*SHORT, f"model.au_guidance.weight={weight}", f"hydra.run.dir={tmp_path / str(weight)}")
        assert done.returncode == 0, done.stderr[-3000:]
        metrics[weight] = _logged_metrics(tmp_path / str(weight))
    plain, guided = metrics[0], metrics[9]
    assert guided["test/att_cos"] >= plain["test/att_cos"] + 0.1, (plain["test/att_cos"], guided["test/att_cos"])
    assert guided["test/acc"] >= plain["test/acc"] - 0.05, (plain["test/acc"], guided["test/acc"])

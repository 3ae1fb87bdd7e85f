"""The region-importance pass under DDP: two processes store the numbers of one, each image once."""

import numpy as np
import pytest

from ferlens.formats.importance_evidence import read_importance
from tests.conftest import SMALL_DATA, run_train


@pytest.mark.slow
def test_two_process_importance_equals_one_process(tmp_path):
    fit = run_train(*SMALL_DATA, "data.fold=2", "trainer.max_epochs=1", "logger=none", "callbacks.progress_bar=null", f"hydra.run.dir={tmp_path / 'fit'}")
    assert fit.returncode == 0, fit.stderr[-3000:]
    checkpoint = next((tmp_path / "fit" / "checkpoints").glob("epoch*.ckpt"))
    common = [
        *SMALL_DATA, "data.fold=2", "train=false", f"init_from={checkpoint}", "logger=none", "callbacks=[global_saliency]",
        "saliency=[gradcam]", "callbacks.global_saliency.per_class=2", "callbacks.global_saliency.target=label",
        "callbacks.global_saliency.faithfulness=null", "+importance=au_regions", "callbacks.region_importance.families=[au]",
        "callbacks.region_importance.draws=2", "callbacks.region_importance.images_per_step=3", "trainer=ddp", "trainer.accelerator=cpu",
    ]  # fmt: skip
    for devices in (1, 2):
        result = run_train(*common, f"trainer.devices={devices}", f"hydra.run.dir={tmp_path / str(devices)}")
        assert result.returncode == 0, result.stderr[-3000:]
    one, two = (read_importance(tmp_path / str(devices) / "importance" / "au_regions") for devices in (1, 2))
    assert len(one.index) == 12 and one.index.tolist() == sorted(set(one.index.tolist()))  # 2 per class, each once
    for name in ("index", "target", "label", "prediction", "subject", "name", "area"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    for name in ("original", "probability", "control_probability", "control_logit"):
        np.testing.assert_allclose(getattr(two, name), getattr(one, name), rtol=1e-5, atol=1e-7, err_msg=name)
    assert np.isfinite(one.probability).mean() > 0.9

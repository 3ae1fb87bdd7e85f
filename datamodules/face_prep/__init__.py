"""Face preparation of a dataset, run once and cached: every entry of a reader's
``DatasetIndex`` through ``faces.prepare.prepare_face`` (find the face, its 68 landmarks,
a square crop), in parallel worker processes.

The cache lives outside the data folder (``cache_dir``, default ``$FERLENS_CACHE``, else
``$XDG_CACHE_HOME/ferlens``, else ``~/.cache/ferlens``), under ``faces/``:

- ``<settings digest>/<2 hex>/<entry digest>.npz``, one per image: the crop (raw uint8),
  the landmarks, the box, the crop's affine, the status, the face count and the details
  of the report (detection step, rescue, padding, points outside, plausibility measures) as JSON
  (``np.load(allow_pickle=False)``).
  The settings digest covers the settings, the predictor file's sha256, dlib's version
  and the cache format; the entry digest the image's content (sha256 of the file's bytes,
  or of in-memory pixels with their shape) and the dataset's own box and landmarks. So a
  changed or added file is prepared alone, and a renamed one not at all.
- ``index.sqlite``: content hashes of files by (absolute path, size, mtime_ns), so a
  second run reads no image, and each entry's status, box, details and file size/mtime,
  so it opens no entry either; an entry whose size or mtime differs is read in full and,
  when damaged, rebuilt.
- ``<settings digest>/report_<dataset>_<root digest>.csv``: per image its status, the
  step that found the face, box, face count, padding, points outside the image, rescue, plausibility
  measures and whether it came from the cache (or under ``report_dir``).

Face preparation must not bias the classes silently: the result counts, per class, the
images, the faces prepared and the images dropped, and a class that loses more than
``face.max_class_drop`` of its images, or drop rates of two classes more than
``face.max_class_gap`` apart, give a one-sentence warning naming the classes
(``face.on_class_bias=error``: a ``DataError``).

Where face preparation lives: ``faces/prepare.py`` prepares one image; this package a
dataset, one job per module: ``dataset`` (``prepare_faces``, ``resolve_settings``,
``PreparedFaceSet``), ``cache_entries`` (the npz files), ``cache_index`` (the sqlite index,
the cache folder), ``workers`` (the process pool), ``tight_crops`` (the set-level tight-crop
decision and its whole-image fallback) and ``report`` (summary, class counts, class-bias
warning, CSV). ``datamodules/prepared.py`` is the training source over the prepared faces,
``datamodules/prepare.py`` the ``ferlens-prepare`` command.
"""

from ferlens.datamodules.face_prep.cache_entries import CACHE_FORMAT, DETAILS, entry_key
from ferlens.datamodules.face_prep.cache_index import default_cache_dir
from ferlens.datamodules.face_prep.dataset import PreparedFaceSet, prepare_faces, resolve_settings
from ferlens.datamodules.face_prep.report import REPORT_COLUMNS, class_bias_message, class_counts
from ferlens.datamodules.face_prep.tight_crops import TIGHT_RATIO, TightDecision, tight_crops

__all__ = [
    "CACHE_FORMAT", "DETAILS", "REPORT_COLUMNS", "TIGHT_RATIO", "PreparedFaceSet", "TightDecision", "class_bias_message", "class_counts",
    "default_cache_dir", "entry_key", "prepare_faces", "resolve_settings", "tight_crops",
]  # fmt: skip

"""Linear imputation of ROAD (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy
for Attribution Methods"): every removed pixel becomes the weighted mean of its 8 neighbours
(weight 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones, renormalised over the
neighbours inside the image), removed neighbours included, so the removed pixels solve one
sparse linear system per image (the same system for the 3 channels). The same system as
pytorch-grad-cam's ``NoisyLinearImputer`` and Quantus' ``noisy_linear_imputation``; ROAD's
noise is added by the caller (``evaluation.faithfulness.curves.road``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

#: ((row offset, column offset), weight) of the neighbours, as in Rong et al.'s code.
NEIGHBOUR_WEIGHTS = (
    ((1, 1), 1 / 12),
    ((0, 1), 1 / 6),
    ((-1, 1), 1 / 12),
    ((1, -1), 1 / 12),
    ((0, -1), 1 / 6),
    ((-1, -1), 1 / 12),
    ((1, 0), 1 / 6),
    ((-1, 0), 1 / 6),
)


def impute_image(image: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``image`` [C, H, W] float, ``missing`` [H, W] bool (True = removed) -> [C, H, W] float64
    with the removed pixels replaced by the solution of the imputation system (known pixels
    unchanged). Solved with SuperLU in symmetric mode: the system matrix (the weighted graph
    Laplacian of the removed pixels, grounded at the known ones) is symmetric positive definite."""
    channels, height, width = image.shape
    if missing.shape != (height, width):
        raise ValueError(f"the mask {tuple(missing.shape)} does not match the image {tuple(image.shape)}")
    flat = image.reshape(channels, -1).astype(np.float64)
    removed = np.flatnonzero(missing)
    if len(removed) == 0:
        return flat.reshape(image.shape)
    if len(removed) == height * width:
        raise ValueError("every pixel is removed: there is nothing to impute from")
    variable = np.full(height * width, -1)
    variable[removed] = np.arange(len(removed))
    rows, columns = np.divmod(removed, width)
    diagonal = np.zeros(len(removed))
    right_hand_side = np.zeros((len(removed), channels))
    entries: list[tuple[np.ndarray, np.ndarray, float]] = []
    for (row_offset, column_offset), weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + row_offset, columns + column_offset
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        equations, neighbours = np.flatnonzero(inside), r[inside] * width + c[inside]
        diagonal[equations] += weight
        unknown = variable[neighbours] >= 0
        entries.append((equations[unknown], variable[neighbours[unknown]], weight))
        right_hand_side[equations[~unknown]] += weight * flat[:, neighbours[~unknown]].T  # each equation once per offset
    matrix = scipy.sparse.csc_matrix(
        (
            np.concatenate([diagonal] + [np.full(len(e), -w) for e, _, w in entries]),
            (np.concatenate([np.arange(len(removed))] + [e for e, _, _ in entries]), np.concatenate([np.arange(len(removed))] + [v for _, v, _ in entries])),
        ),
        shape=(len(removed), len(removed)),
    )
    factor = scipy.sparse.linalg.splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    imputed = flat.copy()
    imputed[:, removed] = factor.solve(right_hand_side).T
    return imputed.reshape(image.shape)


def linear_imputation(images: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """``images`` [N, C, H, W], ``missing`` [N, H, W] bool -> [N, C, H, W] (dtype and device of
    ``images``): each image imputed by ``impute_image``, on the CPU, one sparse solve per image
    in as many threads as torch uses (SuperLU releases the GIL while it factorises)."""
    if missing.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"the masks {tuple(missing.shape)} do not match the images {tuple(images.shape)}")
    host_images, host_missing = images.detach().cpu().double().numpy(), missing.detach().cpu().numpy()
    with ThreadPoolExecutor(max_workers=max(1, min(len(host_images), torch.get_num_threads()))) as pool:
        imputed = list(pool.map(impute_image, host_images, host_missing))
    return torch.from_numpy(np.stack(imputed)).to(device=images.device, dtype=images.dtype)


def impute_jobs(images: np.ndarray, image_of: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Many removals at once: ``images`` [B, C, H, W] float, ``image_of`` [J] int (the image of
    each job), ``missing`` [J, H, W] bool -> [J, C, H, W] float64, job j being
    ``impute_image(images[image_of[j]], missing[j])``. The J systems are one block-diagonal
    sparse system, built without a Python loop over jobs and solved by one SuperLU
    factorisation: the batched form for many small removals (``evaluation.region_importance.intervention``)."""
    jobs, height, width = missing.shape
    channels = images.shape[1]
    if image_of.shape != (jobs,) or images.shape[2:] != (height, width):
        raise ValueError(f"the masks {tuple(missing.shape)} do not match the images {tuple(images.shape)} and jobs {tuple(image_of.shape)}")
    pixels = height * width
    flat = images.reshape(len(images), channels, pixels).astype(np.float64)
    imputed = flat[image_of].copy()  # [J, C, H W]
    removed = np.flatnonzero(missing.reshape(-1))
    if len(removed) == 0:
        return imputed.reshape(jobs, channels, height, width)
    job, place = np.divmod(removed, pixels)
    if np.any(np.bincount(job, minlength=jobs) == pixels):
        raise ValueError("every pixel is removed: there is nothing to impute from")
    variable = np.full(jobs * pixels, -1, dtype=np.int64)
    variable[removed] = np.arange(len(removed))
    rows, columns = np.divmod(place, width)
    diagonal = np.zeros(len(removed))
    right_hand_side = np.zeros((len(removed), channels))
    equations_all, variables_all, weights_all = [np.arange(len(removed))], [np.arange(len(removed))], []
    for (row_offset, column_offset), weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + row_offset, columns + column_offset
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        equations = np.flatnonzero(inside)
        neighbours = r[inside] * width + c[inside]
        diagonal[equations] += weight
        unknown = variable[job[inside] * pixels + neighbours]
        is_unknown = unknown >= 0
        equations_all.append(equations[is_unknown])
        variables_all.append(unknown[is_unknown])
        weights_all.append(np.full(int(is_unknown.sum()), -weight))
        known = equations[~is_unknown]
        right_hand_side[known] += weight * flat[image_of[job[known]], :, neighbours[~is_unknown]]
    matrix = scipy.sparse.csc_matrix(
        (np.concatenate([diagonal, *weights_all]), (np.concatenate(equations_all), np.concatenate(variables_all))), shape=(len(removed), len(removed))
    )
    factor = scipy.sparse.linalg.splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    solution = factor.solve(right_hand_side)  # [removed, C]
    imputed[job, :, place] = solution
    return imputed.reshape(jobs, channels, height, width)

"""Non-maximum suppression (INMSLayer), as TensorRT documents it.

Per batch item and class: candidates are the boxes whose score exceeds the score
threshold (input 4, default 0), in decreasing score order (equal scores: lower box index
first), at most ``topk_box_limit`` of them; a candidate is selected when its IoU with every
box already selected for that class is at most the IoU threshold (input 3, default 0),
until ``max_output_boxes_per_class`` (input 2) are selected. Output 0 holds one
(batch, class, box) row per selected box, by increasing batch, then decreasing score
(equal scores: lower class, then lower box, first); output 1 their number. Boxes are
[y1, x1, y2, x2] corner pairs (either corner first) or [x_center, y_center, width, height].
"""

from __future__ import annotations

import numpy as np

from trt_netser.offline._enums import BoundingBoxFormat
from trt_netser.offline._execute._node import KernelError, Node, need

Array = np.ndarray


def _corners(boxes: Array, fmt: int) -> Array:
    """[..., 4] boxes as [y_min, x_min, y_max, x_max]."""
    b = boxes.astype(np.float64)
    if fmt == int(BoundingBoxFormat.CENTER_SIZES):
        xc, yc, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
        return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=-1)
    y1, x1, y2, x2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [np.minimum(y1, y2), np.minimum(x1, x2), np.maximum(y1, y2), np.maximum(x1, x2)], axis=-1
    )


def _iou(box: Array, others: Array) -> Array:
    ih = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iw = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ih * iw
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(node: Node, xs: list[Array | None]) -> list[Array]:
    """Selected (batch, class, box) indices and their count."""
    boxes, scores = need(xs[0], "boxes"), need(xs[1], "scores")
    max_out = int(np.asarray(need(xs[2], "max_output_boxes_per_class")).reshape(()))
    iou_t = float(np.asarray(xs[3]).reshape(())) if len(xs) > 3 and xs[3] is not None else 0.0
    score_t = float(np.asarray(xs[4]).reshape(())) if len(xs) > 4 and xs[4] is not None else 0.0
    if boxes.ndim not in (3, 4) or scores.ndim != 3:
        raise KernelError("boxes must be [B, N, 4] or [B, N, C, 4] and scores [B, N, C]")
    if boxes.shape[:2] != scores.shape[:2] or (
        boxes.ndim == 4 and boxes.shape[2] != scores.shape[2]
    ):
        raise KernelError(
            f"scores {scores.shape} are not [batch, boxes, classes] for boxes {boxes.shape}"
        )
    corners = _corners(boxes, int(node.attrs["bounding_box_format"]))
    limit = int(node.attrs["topk_box_limit"])
    n_batch, _, n_classes = scores.shape
    rows: list[tuple[int, float, int, int]] = []
    for b in range(n_batch):
        for c in range(n_classes):
            s = scores[b, :, c].astype(np.float64)
            cand = np.flatnonzero(s > score_t)
            cand = cand[np.argsort(-s[cand], kind="stable")][:limit]
            cb = corners[b, :, c] if corners.ndim == 4 else corners[b]
            picked: list[int] = []
            for i in cand:
                if len(picked) >= max_out:
                    break
                if picked and np.any(_iou(cb[i], cb[picked]) > iou_t):
                    continue
                picked.append(int(i))
            rows.extend((b, -float(s[i]), c, i) for i in picked)
    rows.sort()
    sel = np.array([(b, c, i) for b, _, c, i in rows], dtype=np.int64).reshape(-1, 3)
    return [node.out(sel, 0), node.out(np.array(len(rows), np.int32), 1)]

"""Quaternion losses of Zhou et al.'s IKNet.

Zhou, Habermann, Xu, Habibie, Theobalt and Xu, "Monocular Real-time Hand
Shape and Motion Capture using Multi-modal Data", CVPR 2020, Section 4.2.
IKNet regresses one quaternion q_j per joint; with q^_j = q_j / ||q_j||:

    L_cos  = sum_j 1 - Re(q_j^GT q^_j^-1)   (= 1 - <q_j^GT, q^_j>)
    L_l2   = sum_j || q_j^GT - q_j ||^2
    L_norm = sum_j (1 - ||q_j||)^2

L_l2 compares the raw output (on unit quaternions it would be 2 L_cos, and
the paper's ablation tells the two apart); the norm term keeps the raw
output near the unit sphere. The ground truth is a unit quaternion (w, x,
y, z) with w >= 0. q and -q are the same rotation, and both L_cos and L_l2
push the prediction to the ground truth's sign, as the paper writes them;
``sign_invariant=True`` (not the paper's) compares with whichever of q^GT
and -q^GT is nearer. Normalisation: the sums are per sample; handkit
averages them over the batch.
"""
from typing import Dict

import torch
from torch import nn

from handkit.registry import MODELS


@MODELS.register_module()
class QuaternionLoss(nn.Module):
    """``forward(pred (B, J, 4) raw, target (B, J, 4) unit)`` -> the weighted
    ``{'loss_cos', 'loss_l2', 'loss_norm'}``.

    Args:
        cos_weight, l2_weight, norm_weight: the weights of the three terms
            (plain attributes).
        sign_invariant: compare with the nearer of q^GT and -q^GT.
    """

    def __init__(self, cos_weight: float = 1.0, l2_weight: float = 1.0,
                 norm_weight: float = 1.0,
                 sign_invariant: bool = False) -> None:
        super().__init__()
        self.sign_invariant = sign_invariant
        self.cos_weight = float(cos_weight)
        self.l2_weight = float(l2_weight)
        self.norm_weight = float(norm_weight)

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> Dict[str, torch.Tensor]:
        if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 4:
            raise ValueError(f'QuaternionLoss: pred {tuple(pred.shape)} and '
                             f'target {tuple(target.shape)} must both be '
                             f'(B, J, 4)')
        pred, target = pred.float(), target.float()
        norm = pred.norm(dim=-1)  # (B, J)
        unit = pred / norm.clamp_min(1e-8)[..., None]
        batch = len(pred)
        dot = (unit * target).sum(-1)  # (B, J)
        if self.sign_invariant:  # against the nearer of q^GT and -q^GT
            target = target * torch.where(dot < 0, -1.0, 1.0)[..., None]
            dot = dot.abs()
        return {
            'loss_cos': self.cos_weight * (1 - dot).sum() / batch,
            'loss_l2': self.l2_weight * (pred - target).pow(2).sum() / batch,
            'loss_norm': self.norm_weight * (1 - norm).pow(2).sum() / batch,
        }

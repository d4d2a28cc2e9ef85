"""NonFiniteLossHook: finite terms pass, the first NaN / inf stops with a
message naming every term and the checkpoint that is kept."""
from types import SimpleNamespace

import pytest
import torch

from handkit.engine.hooks import NonFiniteLossError, NonFiniteLossHook


def runner(tmp_path, iteration=4, epoch=1):
    return SimpleNamespace(work_dir=str(tmp_path), iter=iteration,
                           epoch=epoch)


def test_finite_terms_pass(tmp_path):
    outputs = dict(loss=torch.tensor(1.5), loss_kcm=torch.tensor(1.0),
                   loss_structure_g1=torch.tensor([0.25, 0.25]), count=3)
    NonFiniteLossHook().after_train_iter(runner(tmp_path), 0,
                                         outputs=outputs)
    NonFiniteLossHook().after_train_iter(runner(tmp_path), 0, outputs={})


def test_a_nan_term_names_every_term_and_the_iteration(tmp_path):
    outputs = dict(loss=torch.tensor(float('nan')),
                   loss_kcm=torch.tensor(0.5),
                   loss_structure_g1=torch.tensor(float('nan')))
    with pytest.raises(NonFiniteLossError) as error:
        NonFiniteLossHook().after_train_iter(runner(tmp_path), 0,
                                             outputs=outputs)
    assert str(error.value) == (
        'non-finite loss at iteration 5 (epoch 2): loss=nan, loss_kcm=0.5, '
        'loss_structure_g1=nan; training stopped and no checkpoint was '
        'written before')


def test_an_infinite_number_or_bfloat16_term_stops_too(tmp_path):
    (tmp_path / 'last_checkpoint').write_text('/w/epoch_1.pth\n')
    for outputs in (dict(loss=torch.tensor(1.0), scale=float('inf')),
                    dict(loss=torch.tensor(float('inf'),
                                           dtype=torch.bfloat16))):
        with pytest.raises(NonFiniteLossError,
                           match='the last good checkpoint /w/epoch_1.pth '
                           'is kept'):
            NonFiniteLossHook().after_train_iter(runner(tmp_path), 0,
                                                 outputs=outputs)

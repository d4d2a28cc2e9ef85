"""tools/make_gallery.py: the docs' pictures of synthetic hands."""
import cv2
import numpy as np
import pytest

from handkit.tools import make_gallery


def test_the_gallery_draws_the_same_hands_over_either_background(tmp_path,
                                                                 capsys):
    pictures = {}
    for background in ('shapes', 'clutter'):
        out = tmp_path / f'{background}.png'
        make_gallery.main(['--rows', '1', '--cols', '2', '--width', '128',
                           '--hand', 'mesh', '--background', background,
                           '--out', str(out)])
        pictures[background] = cv2.imread(str(out))
        assert pictures[background].shape == (64, 128, 3)
        assert f'{out}: 128 x 64 px' in capsys.readouterr().out
    # the same hands and skeletons, other pixels behind them
    assert np.abs(pictures['shapes'].astype(int)
                  - pictures['clutter']).mean() > 5


def test_an_unknown_background_is_refused(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        make_gallery.main(['--background', 'sky', '--out',
                           str(tmp_path / 'x.png')])
    assert exit_info.value.code == 2

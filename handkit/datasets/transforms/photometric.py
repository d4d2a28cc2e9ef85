"""Photometric transforms of the uint8 BGR input (train only): colour jitter
and camera degradations.

Pipeline step 5 of docs/architecture.md. The NSRM paper states no colour
augmentation; :class:`PhotometricJitter` is the usual brightness / contrast /
saturation / hue jitter of CPM-style training, done whole-image with OpenCV.
:class:`CameraDegradation` adds what a real camera does to a photo and a
renderer does not (blur, sensor noise, JPEG), the appearance randomisation
that domain-randomisation work uses to carry synthetic training to real
photos (Tobin et al., "Domain Randomization for Transferring Deep Neural
Networks from Simulation to the Real World", IROS 2017; Tremblay et al.,
"Training Deep Networks with Synthetic Data", CVPR Workshops 2018).
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS

# ITU-R BT.601 luma weights in BGR order (those of cv2.COLOR_BGR2GRAY).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)


def _checked_bgr(img: np.ndarray, transform: str) -> np.ndarray:
    """``img`` if it is a uint8 (H, W, 3) BGR image, else a one-line error."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{transform}: img must be uint8 (H, W, 3) BGR, '
                         f'got {img.dtype} {img.shape}')
    return img


def _uniform(low, high):
    # A Python float keeps float32 arrays float32 under NumPy 2 promotion
    # (a np.float64 scalar would promote them to float64, which cvtColor
    # refuses).
    return float(np.random.uniform(low, high))


@TRANSFORMS.register_module()
class PhotometricJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue of ``img``.

    With probability ``prob``, in this order, each part whose strength is
    non-zero:

    * brightness: every channel times ``b ~ U[1 - brightness, 1 + brightness]``
      (scales HSV value, keeps hue and saturation);
    * contrast: ``(img - m) * c + m`` with
      ``c ~ U[1 - contrast, 1 + contrast]`` and ``m`` the mean grey level of
      the image;
    * saturation: HSV saturation times ``s ~ U[1 - saturation,
      1 + saturation]``;
    * hue: HSV hue shifted by ``h ~ U[-hue, hue]`` of the full hue circle.

    Computed in float32 (OpenCV's float HSV: hue in degrees), then rounded
    and clipped back to uint8 of the same shape. All strengths 0 is the
    identity. Random numbers come from ``np.random``.

    Args:
        brightness, contrast, saturation: strengths in [0, 1].
        hue: strength in [0, 0.5], a fraction of the hue circle.
        prob: probability of jittering an image at all.
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2,
                 saturation: float = 0.2, hue: float = 0.05,
                 prob: float = 1.0) -> None:
        super().__init__()
        for name, value, high in (('brightness', brightness, 1.0),
                                  ('contrast', contrast, 1.0),
                                  ('saturation', saturation, 1.0),
                                  ('hue', hue, 0.5), ('prob', prob, 1.0)):
            if not 0 <= value <= high:
                raise ValueError(f'PhotometricJitter: {name} must be in '
                                 f'[0, {high}], got {value!r}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.prob = prob

    def transform(self, results: dict) -> dict:
        img = _checked_bgr(results['img'], 'PhotometricJitter')
        if not (self.brightness or self.contrast or self.saturation
                or self.hue) or np.random.rand() >= self.prob:
            return results
        bgr = img.astype(np.float32)
        if self.brightness:
            bgr *= _uniform(1 - self.brightness, 1 + self.brightness)
        if self.contrast:
            factor = _uniform(1 - self.contrast, 1 + self.contrast)
            mean_grey = float((bgr @ _LUMA_BGR).mean())
            bgr = (bgr - mean_grey) * factor + mean_grey
        if self.saturation or self.hue:
            # Float HSV wants BGR in [0, 1]: hue [0, 360), saturation [0, 1].
            hsv = cv2.cvtColor(np.clip(bgr, 0, 255) / 255, cv2.COLOR_BGR2HSV)
            if self.saturation:
                hsv[..., 1] = np.clip(
                    hsv[..., 1] * _uniform(1 - self.saturation,
                                           1 + self.saturation),
                    0, 1)
            if self.hue:
                hsv[..., 0] = np.mod(
                    hsv[..., 0] + 360 * _uniform(-self.hue, self.hue),
                    360)
            bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255
        results['img'] = np.clip(np.rint(bgr), 0, 255).astype(np.uint8)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')


def _check_range(name: str, value, low: float, high: float
                 ) -> Optional[Tuple[float, float]]:
    """``value`` as a (low, high) pair inside [low, high] (None: the part
    is off), or a one-line error naming the argument."""
    if value is None:
        return None
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not low <= value[0] <= value[1] <= high):
        raise ValueError(f'CameraDegradation: {name} must be None or a pair '
                         f'(a, b) with {low} <= a <= b <= {high}, '
                         f'got {value!r}')
    return (float(value[0]), float(value[1]))


@TRANSFORMS.register_module()
class CameraDegradation(BaseTransform):
    """Random Gaussian blur, sensor noise and JPEG compression of ``img``.

    A camera's order: each part applied with probability ``prob``, drawn
    independently, then

    * blur: ``cv2.GaussianBlur`` with sigma ``~ U[blur_sigma]`` input pixels
      (kernel 2 * ceil(3 sigma) + 1) - defocus and the resampling of a
      small hand;
    * noise: additive Gaussian noise, per pixel and channel, with standard
      deviation ``~ U[noise_std]`` grey levels - sensor noise;
    * JPEG: encoded and decoded at quality ``~ U[jpeg_quality]`` (rounded)
      - the block and ringing artefacts of every web photo.

    Then rounded and clipped to uint8 of the same shape. A range of None
    turns its part off; ``prob=0`` is the identity. Random numbers come
    from ``np.random``, as :class:`PhotometricJitter`'s.

    Args:
        blur_sigma: (low, high) in [0, 5] pixels, or None.
        noise_std: (low, high) in [0, 50] grey levels, or None.
        jpeg_quality: (low, high) in [1, 100], or None.
        prob: probability of each part, in [0, 1].
    """

    def __init__(self,
                 blur_sigma: Optional[Sequence[float]] = (0.3, 1.2),
                 noise_std: Optional[Sequence[float]] = (1.0, 8.0),
                 jpeg_quality: Optional[Sequence[int]] = (30, 90),
                 prob: float = 0.5) -> None:
        super().__init__()
        self.blur_sigma = _check_range('blur_sigma', blur_sigma, 0.0, 5.0)
        self.noise_std = _check_range('noise_std', noise_std, 0.0, 50.0)
        self.jpeg_quality = _check_range('jpeg_quality', jpeg_quality, 1,
                                         100)
        if not 0 <= prob <= 1:
            raise ValueError(f'CameraDegradation: prob must be in [0, 1], '
                             f'got {prob!r}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        img = _checked_bgr(results['img'], 'CameraDegradation')
        blur, noise, jpeg = np.random.rand(3) < self.prob
        if blur and self.blur_sigma:
            sigma = _uniform(*self.blur_sigma)
            size = 2 * int(np.ceil(3 * sigma)) + 1
            img = cv2.GaussianBlur(img, (size, size), sigma)
        if noise and self.noise_std:
            std = _uniform(*self.noise_std)
            noisy = img + np.random.normal(0.0, std, img.shape)
            img = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        if jpeg and self.jpeg_quality:
            quality = int(round(_uniform(*self.jpeg_quality)))
            _, data = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, quality])
            img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        results['img'] = np.ascontiguousarray(img)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(blur_sigma={self.blur_sigma}, '
                f'noise_std={self.noise_std}, '
                f'jpeg_quality={self.jpeg_quality}, prob={self.prob})')

"""Independent numpy versions of the analysis definitions: radial band masks,
standardisation, the divergence metrics and CKA (as in the README)."""
import numpy as np


def numpy_masks(height, width, low_radius, high_radius):
    """Radius from (H//2, W//2) over min(H//2, W//2); low <=, high >=."""
    cy, cx = height // 2, width // 2
    rows, cols = np.meshgrid(
        np.arange(height) - cy, np.arange(width) - cx, indexing='ij')
    radius = np.sqrt(rows**2 + cols**2) / min(cy, cx)
    return radius <= low_radius, radius >= high_radius


def numpy_band(x, mask):
    """Mask the orthonormal shifted FFT of the last two axes, invert, real."""
    spectrum = np.fft.fftshift(np.fft.fft2(x, norm='ortho'), axes=(-2, -1))
    return np.fft.ifft2(
        np.fft.ifftshift(spectrum * mask, axes=(-2, -1)), norm='ortho').real


def numpy_standardize(x):
    """(B, C, H, W): channel means over space removed, positions unit norm."""
    centred = x - x.mean(axis=(2, 3), keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=1, keepdims=True))
    return centred / np.maximum(norm, 1e-6)


def numpy_bands(x, low_radius=0.25, high_radius=0.75):
    """Standardised maps and their radial bands."""
    x = numpy_standardize(x)
    low, high = numpy_masks(x.shape[2], x.shape[3], low_radius, high_radius)
    return dict(full=x, low=numpy_band(x, low), high=numpy_band(x, high))


def numpy_metrics(t, s):
    """Per-sample MSE, normalised MSE and cosine distance of (B, ...)."""
    t = t.reshape(len(t), -1)
    s = s.reshape(len(s), -1)
    t_norm = np.linalg.norm(t, axis=1)
    s_norm = np.linalg.norm(s, axis=1)
    return dict(
        mse=((t - s)**2).mean(1),
        nmse=((t - s)**2).sum(1) / t_norm**2,
        cosine_distance=1 - (t * s).sum(1) / (t_norm * s_norm))


def numpy_cka_hsic(x, y):
    """Linear CKA from example Gram matrices (HSIC form), (N, P), (N, Q)."""
    n = len(x)
    centring = np.eye(n) - np.ones((n, n)) / n
    k = centring @ (x @ x.T) @ centring
    l_ = centring @ (y @ y.T) @ centring
    return (k * l_).sum() / np.sqrt((k * k).sum() * (l_ * l_).sum())

"""Painting of one synthetic scene as a registered RGB / thermal pair.

Both images are painted from the same geometry, so every object sits at the
same pixels in both, but the modalities look different in the way real pairs
do: the RGB image is coloured and textured (stripes on clothes and facades,
sensor noise) and dark at night, while the thermal image is smooth, people
are bright warm blobs, cars moderately warm with hot wheels, and the
background (sky, road, buildings) is cool and varies slowly.
"""
from typing import List, Sequence, Tuple

import cv2
import numpy as np

# (x, y, w, h) in pixels, top-left corner.
Box = Tuple[float, float, float, float]
# (row start, row end, column start, column end) of an image region.
Window = Tuple[int, int, int, int]


class PairedScenePainter:
    """Paint one frame in both modalities, object by object.

    Call :meth:`person`, :meth:`car`, ... in back-to-front order (later
    objects cover earlier ones in both images), then :meth:`finish`. Each
    object method returns the window and the boolean mask of the pixels it
    covers, from which label maps are drawn.

    Colours are BGR, the channel order OpenCV writes and mmcv reads.

    Args:
        rng (np.random.Generator): Source of all randomness of the frame.
        width (int): Image width.
        height (int): Image height.
        night (bool): Darker, noisier RGB image with street lamps and a
            cooler thermal background. Defaults to False.
    """

    def __init__(self,
                 rng: np.random.Generator,
                 width: int,
                 height: int,
                 night: bool = False) -> None:
        self.rng = rng
        self.width = width
        self.height = height
        self.night = night
        self.horizon = int(height * rng.uniform(0.3, 0.45))
        self._buildings = self._sample_buildings()
        self.rgb = self._rgb_background()
        self.ir = self._ir_background()

    # ------------------------------------------------------------------
    # backgrounds
    # ------------------------------------------------------------------
    def _sample_buildings(self) -> List[Tuple[int, int, int]]:
        """(x0, x1, top) of the facades standing on the horizon."""
        buildings = []
        x = int(self.rng.uniform(-0.1, 0.1) * self.width)
        while x < self.width:
            span = max(1, int(self.rng.uniform(0.12, 0.3) * self.width))
            top = int(self.horizon * self.rng.uniform(0.05, 0.6))
            if self.rng.random() < 0.75:
                buildings.append((max(0, x), min(self.width, x + span), top))
            x += span + int(self.rng.uniform(0, 0.08) * self.width)
        return buildings

    def _smooth_field(self, cells: Tuple[int, int] = (4, 6)) -> np.ndarray:
        """Slowly varying values in about [-1, 1], shape (H, W)."""
        grid = self.rng.uniform(-1, 1, size=cells).astype(np.float32)
        return cv2.resize(
            grid, (self.width, self.height), interpolation=cv2.INTER_CUBIC)

    def _stripes(self, shape: Tuple[int, int], period: float) -> np.ndarray:
        """Sinusoidal stripes in [0, 1] of random orientation and phase."""
        angle = self.rng.uniform(0, np.pi)
        phase = self.rng.uniform(0, 2 * np.pi)
        rows = np.arange(shape[0], dtype=np.float32)[:, None]
        cols = np.arange(shape[1], dtype=np.float32)[None, :]
        along = cols * np.cos(angle) + rows * np.sin(angle)
        return 0.5 + 0.5 * np.sin(2 * np.pi * along / max(period, 2.0) +
                                  phase)

    def _rgb_background(self) -> np.ndarray:
        """Coloured sky, striped road and facades with windows, (H, W, 3)."""
        h, w, horizon = self.height, self.width, self.horizon
        rgb = np.empty((h, w, 3), np.float32)
        sky_top = self.rng.uniform([170, 110, 50], [255, 190, 130])
        sky_low = self.rng.uniform([200, 180, 150], [255, 235, 220])
        t = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
        rgb[:horizon] = sky_top * (1 - t) + sky_low * t
        ground = self.rng.uniform([70, 70, 70], [130, 125, 135])
        t = np.linspace(0, 1, h - horizon, dtype=np.float32)[:, None, None]
        rgb[horizon:] = ground * (0.8 + 0.3 * t)
        rgb[horizon:] *= 0.85 + 0.15 * self._stripes(
            (h - horizon, w), period=self.rng.uniform(6, 20))[..., None]
        for x0, x1, top in self._buildings:
            if x1 <= x0:
                continue
            facade = self.rng.uniform([40, 40, 60], [200, 210, 230])
            block = rgb[top:horizon, x0:x1]
            block[:] = facade * (0.75 + 0.25 * self._stripes(
                block.shape[:2], self.rng.uniform(4, 12)))[..., None]
            step = max(4, int(self.rng.uniform(0.02, 0.05) * w))
            glass = self.rng.uniform([20, 20, 20], [120, 110, 90])
            for wy in range(top + step // 2, horizon - step, step * 2):
                for wx in range(x0 + step // 2, x1 - step, step * 2):
                    rgb[wy:wy + step, wx:wx + step] = glass
        return rgb

    def _ir_background(self) -> np.ndarray:
        """Cool, smooth thermal background, (H, W)."""
        h, w, horizon = self.height, self.width, self.horizon
        cooler = 10.0 if self.night else 0.0
        ir = np.empty((h, w), np.float32)
        ir[:horizon] = self.rng.uniform(25, 45) - cooler
        ground = self.rng.uniform(55, 80) - cooler
        ir[horizon:] = ground + np.linspace(
            0, 12, h - horizon, dtype=np.float32)[:, None]
        for x0, x1, top in self._buildings:
            ir[top:horizon, x0:x1] = self.rng.uniform(50, 90) - cooler
        ir = cv2.GaussianBlur(ir, (0, 0), 0.01 * w + 1)
        return ir + 6.0 * self._smooth_field()

    def ground_box(self, height: float, aspect: float) -> List[int]:
        """A random box of an object standing on the ground.

        The object's bottom lies below the horizon, lower for taller
        (nearer) objects, and the box lies inside the image (cut at the top
        if needed).

        Args:
            height (float): Object height in pixels.
            aspect (float): Width / height.

        Returns:
            list[int]: ``[x, y, w, h]``.
        """
        width = min(self.width - 1.0, max(2.0, aspect * height))
        bottom = min(self.height - 1.0,
                     self.horizon + height * self.rng.uniform(0.6, 1.4))
        x0 = int(self.rng.uniform(0, self.width - width))
        x1 = min(self.width, int(round(x0 + width)))
        y0 = max(0, int(round(bottom - height)))
        y1 = int(round(bottom))
        return [x0, y0, x1 - x0, y1 - y0]

    # ------------------------------------------------------------------
    # primitives
    # ------------------------------------------------------------------
    def _window(self, box: Box, pad: float) -> Window:
        """The image region holding ``box`` grown by ``pad`` pixels."""
        x, y, w, h = box
        ya = max(0, int(np.floor(y - pad)))
        yb = min(self.height, int(np.ceil(y + h + pad)) + 1)
        xa = max(0, int(np.floor(x - pad)))
        xb = min(self.width, int(np.ceil(x + w + pad)) + 1)
        if ya >= yb or xa >= xb:
            raise ValueError(f'box {box} lies outside the '
                             f'{self.width}x{self.height} image')
        return ya, yb, xa, xb

    @staticmethod
    def _mask(window: Window, shapes: Sequence[tuple]) -> np.ndarray:
        """Rasterise shapes given in image coordinates into the window.

        Shapes: ``('ellipse', cx, cy, ax, ay)``, ``('rect', x0, y0, x1,
        y1)``, ``('poly', [(x, y), ...])``, ``('ring', cx, cy, r, t)`` and
        ``('line', x0, y0, x1, y1, t)`` (``t``: thickness).
        """
        ya, yb, xa, xb = window
        canvas = np.zeros((yb - ya, xb - xa), np.uint8)

        def pt(x, y):
            return int(round(x - xa)), int(round(y - ya))

        for kind, *p in shapes:
            if kind == 'ellipse':
                axes = (max(1, int(round(p[2]))), max(1, int(round(p[3]))))
                cv2.ellipse(canvas, pt(p[0], p[1]), axes, 0, 0, 360, 1, -1)
            elif kind == 'rect':
                cv2.rectangle(canvas, pt(p[0], p[1]), pt(p[2], p[3]), 1, -1)
            elif kind == 'poly':
                points = np.array([pt(x, y) for x, y in p[0]], np.int32)
                cv2.fillPoly(canvas, [points], 1)
            elif kind == 'ring':
                cv2.circle(canvas, pt(p[0], p[1]), max(1, int(round(p[2]))),
                           1, max(1, int(round(p[3]))))
            elif kind == 'line':
                cv2.line(canvas, pt(p[0], p[1]), pt(p[2], p[3]), 1,
                         max(1, int(round(p[4]))))
            else:
                raise ValueError(f'unknown shape {kind!r}')
        return canvas.astype(bool)

    @staticmethod
    def _extent(shapes: Sequence[tuple]) -> Box:
        """The box (x, y, w, h) enclosing shapes given as in :meth:`_mask`."""
        xs, ys = [], []
        for kind, *p in shapes:
            if kind == 'ellipse':
                xs += [p[0] - p[2], p[0] + p[2]]
                ys += [p[1] - p[3], p[1] + p[3]]
            elif kind == 'rect':
                xs += [p[0], p[2]]
                ys += [p[1], p[3]]
            elif kind == 'poly':
                xs += [x for x, _ in p[0]]
                ys += [y for _, y in p[0]]
            elif kind == 'ring':
                xs += [p[0] - p[2] - p[3], p[0] + p[2] + p[3]]
                ys += [p[1] - p[2] - p[3], p[1] + p[2] + p[3]]
            elif kind == 'line':
                xs += [p[0] - p[4], p[0] + p[4], p[2] - p[4], p[2] + p[4]]
                ys += [p[1] - p[4], p[1] + p[4], p[3] - p[4], p[3] + p[4]]
            else:
                raise ValueError(f'unknown shape {kind!r}')
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    def _fill_rgb(self,
                  window: Window,
                  mask: np.ndarray,
                  colour: Sequence[float],
                  stripes: float = 0.0,
                  period: float = 6.0) -> None:
        """Paint ``colour`` (BGR), optionally striped, where ``mask``."""
        ya, yb, xa, xb = window
        shade = np.ones(mask.shape, np.float32)
        if stripes:
            shade = 1 - stripes + stripes * self._stripes(mask.shape, period)
        region = self.rgb[ya:yb, xa:xb]
        region[mask] = np.asarray(colour, np.float32) * shade[mask][:, None]

    def _fill_ir(self, window: Window, mask: np.ndarray, temperature: float,
                 sigma: float) -> None:
        """Blend towards ``temperature`` through a blurred copy of ``mask``."""
        ya, yb, xa, xb = window
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)
        region = self.ir[ya:yb, xa:xb]
        region[:] = region * (1 - alpha) + temperature * alpha

    def _colour(self, low: Sequence[float],
                high: Sequence[float]) -> np.ndarray:
        return self.rng.uniform(low, high)

    # ------------------------------------------------------------------
    # objects
    # ------------------------------------------------------------------
    def person(self, box: Box, warmth: float = 1.0,
               contrast: float = 1.0) -> Tuple[Window, np.ndarray]:
        """A standing person filling ``box`` (height about 2.4 x width).

        Args:
            box (Box): Full-extent box of the person.
            warmth (float): Scales the temperature above the background;
                below 1 for hard-to-see people. Defaults to 1.
            contrast (float): Blends the RGB colours towards grey; below 1
                for hard-to-see people. Defaults to 1.

        Returns:
            tuple: The window and the mask of the person's pixels.
        """
        x, y, w, h = box
        sigma = max(0.8, 0.05 * h)
        window = self._window(box, pad=3 * sigma)
        head = [('ellipse', x + w / 2, y + 0.09 * h, 0.2 * w, 0.085 * h)]
        torso = [('rect', x + 0.15 * w, y + 0.17 * h, x + 0.85 * w,
                  y + 0.56 * h),
                 ('rect', x, y + 0.2 * h, x + 0.15 * w, y + 0.52 * h),
                 ('rect', x + 0.85 * w, y + 0.2 * h, x + w, y + 0.52 * h)]
        legs = [('rect', x + 0.18 * w, y + 0.55 * h, x + 0.47 * w, y + h),
                ('rect', x + 0.53 * w, y + 0.55 * h, x + 0.82 * w, y + h)]
        grey = np.full(3, 128.0)

        def tone(colour):
            return grey + contrast * (colour - grey)

        parts = []
        for shapes, colour, stripes in (
            (legs, self._colour([10, 10, 10], [140, 120, 110]), 0.15),
            (torso, self._colour([20, 20, 20], [255, 255, 255]), 0.45),
            (head, self._colour([60, 90, 120], [170, 190, 230]), 0.0),
        ):
            mask = self._mask(window, shapes)
            self._fill_rgb(window, mask, tone(colour), stripes,
                           period=self.rng.uniform(3, 8))
            parts.append(mask)
        body = parts[0] | parts[1] | parts[2]
        ya, yb, xa, xb = window
        ambient = float(np.median(self.ir[ya:yb, xa:xb]))
        hot = self.rng.uniform(205, 235)
        self._fill_ir(window, body, ambient + warmth * (hot - ambient), sigma)
        head_hot = min(252.0, hot + 15)
        self._fill_ir(window, parts[2],
                      ambient + warmth * (head_hot - ambient), sigma * 0.7)
        return window, body

    def car(self, box: Box) -> Tuple[Window, np.ndarray]:
        """A car seen from the side or back, filling ``box``."""
        x, y, w, h = box
        sigma = max(0.8, 0.03 * h)
        window = self._window(box, pad=3 * sigma)
        body_shapes = [('rect', x, y + 0.35 * h, x + w, y + 0.85 * h),
                       ('poly', [(x + 0.15 * w, y + 0.38 * h),
                                 (x + 0.28 * w, y), (x + 0.72 * w, y),
                                 (x + 0.85 * w, y + 0.38 * h)])]
        windows = [('poly', [(x + 0.22 * w, y + 0.36 * h),
                             (x + 0.31 * w, y + 0.07 * h),
                             (x + 0.69 * w, y + 0.07 * h),
                             (x + 0.78 * w, y + 0.36 * h)])]
        r = 0.16 * h
        wheels = [('ellipse', x + 0.2 * w, y + h - r, r, r),
                  ('ellipse', x + 0.8 * w, y + h - r, r, r)]
        body = self._mask(window, body_shapes)
        glass = self._mask(window, windows) & body
        tyres = self._mask(window, wheels)
        self._fill_rgb(window, body,
                       self._colour([20, 20, 20], [240, 240, 240]), 0.1,
                       period=self.rng.uniform(10, 30))
        self._fill_rgb(window, glass, self._colour([40, 30, 20],
                                                   [110, 100, 90]))
        self._fill_rgb(window, tyres, [25, 25, 25])
        self._fill_ir(window, body | tyres, self.rng.uniform(120, 160), sigma)
        self._fill_ir(window, glass, self.rng.uniform(45, 70), sigma)
        self._fill_ir(window, tyres, self.rng.uniform(170, 205), sigma)
        return window, body | tyres

    def bicycle(self, box: Box) -> Tuple[Window, np.ndarray]:
        """A bicycle (two wheels and a frame) filling ``box``."""
        x, y, w, h = box
        sigma = max(0.8, 0.02 * h)
        window = self._window(box, pad=3 * sigma)
        r = min(0.27 * w, 0.45 * h)
        t = max(1.0, 0.06 * h)
        cy = y + h - r
        rear, front = x + r, x + w - r
        seat = (x + 0.4 * w, y + 0.1 * h)
        bar = (x + 0.75 * w, y + 0.15 * h)
        shapes = [('ring', rear, cy, r - t / 2, t),
                  ('ring', front, cy, r - t / 2, t),
                  ('line', rear, cy, seat[0], seat[1], t),
                  ('line', seat[0], seat[1], bar[0], bar[1], t),
                  ('line', bar[0], bar[1], front, cy, t),
                  ('line', rear, cy, x + 0.5 * w, cy, t),
                  ('line', x + 0.5 * w, cy, bar[0], bar[1], t)]
        mask = self._mask(window, shapes)
        self._fill_rgb(window, mask, self._colour([0, 0, 0], [200, 120, 120]))
        self._fill_ir(window, mask, self.rng.uniform(95, 120), sigma)
        return window, mask

    def dog(self, box: Box) -> Tuple[Window, np.ndarray]:
        """A dog (body, head, legs) filling ``box``."""
        x, y, w, h = box
        sigma = max(0.8, 0.06 * h)
        window = self._window(box, pad=3 * sigma)
        shapes = [('ellipse', x + 0.45 * w, y + 0.45 * h, 0.35 * w, 0.22 * h),
                  ('ellipse', x + 0.85 * w, y + 0.25 * h, 0.15 * w, 0.2 * h),
                  ('rect', x + 0.15 * w, y + 0.5 * h, x + 0.25 * w, y + h),
                  ('rect', x + 0.65 * w, y + 0.5 * h, x + 0.75 * w, y + h)]
        mask = self._mask(window, shapes)
        self._fill_rgb(window, mask, self._colour([20, 40, 60],
                                                  [120, 150, 200]), 0.2, 4)
        self._fill_ir(window, mask, self.rng.uniform(190, 220), sigma)
        return window, mask

    def occluder(self, box: Box) -> Tuple[Window, np.ndarray]:
        """A bush or low wall at ambient temperature covering ``box``."""
        x, y, w, h = box
        sigma = max(0.8, 0.02 * h)
        window = self._window(box, pad=3 * sigma)
        mask = self._mask(window, [('rect', x, y, x + w, y + h)])
        if self.rng.random() < 0.5:
            colour = self._colour([10, 60, 10], [80, 170, 90])  # bush
        else:
            colour = self._colour([90, 90, 90], [190, 190, 200])  # wall
        self._fill_rgb(window, mask, colour, 0.5, self.rng.uniform(2, 5))
        self._fill_ir(window, mask, self.rng.uniform(60, 85), sigma)
        return window, mask

    def surface(self,
                shapes: Sequence[tuple],
                colour: Sequence[float],
                temperature: float,
                stripes: float = 0.0) -> Tuple[Window, np.ndarray]:
        """Any other region (kerb, guardrail, cone, ...) from raw shapes.

        Args:
            shapes (Sequence[tuple]): Shapes as in :meth:`_mask`.
            colour (Sequence[float]): BGR colour.
            temperature (float): Thermal value it is painted at.
            stripes (float): Stripe contrast in [0, 1]. Defaults to 0.

        Returns:
            tuple: The window and the mask.
        """
        window = self._window(self._extent(shapes), pad=4)
        mask = self._mask(window, shapes)
        self._fill_rgb(window, mask, colour, stripes, period=8)
        self._fill_ir(window, mask, temperature, 1.0)
        return window, mask

    # ------------------------------------------------------------------
    def _sensor_noise(self, shape: Tuple[int, ...],
                      amplitude: int) -> np.ndarray:
        """Uniform integer noise in [-amplitude, amplitude], float32.

        Drawn as uint8, several times faster than Gaussian noise.
        """
        noise = self.rng.integers(
            0, 2 * amplitude + 1, size=shape, dtype=np.uint8)
        return noise.astype(np.float32) - amplitude

    def finish(self) -> Tuple[np.ndarray, np.ndarray]:
        """Add illumination and sensor noise.

        Returns:
            tuple[np.ndarray, np.ndarray]: The RGB image (H, W, 3) and the
            thermal image (H, W), both uint8, BGR for the RGB image.
        """
        rgb = self.rgb
        if self.night:
            rgb = rgb * self.rng.uniform(0.2, 0.35)
            glow = np.zeros((self.height, self.width), np.float32)
            for _ in range(int(self.rng.integers(1, 4))):
                cx = self.rng.uniform(0, self.width)
                cy = self.rng.uniform(0, self.horizon)
                cv2.circle(glow, (int(cx), int(cy)),
                           max(2, int(0.01 * self.width)), 1.0, -1)
            glow = cv2.GaussianBlur(glow, (0, 0), 0.02 * self.width)
            glow /= max(float(glow.max()), 1e-6)
            rgb = rgb + glow[..., None] * np.array([120, 210, 255],
                                                   np.float32)
        rgb = rgb + self._sensor_noise(rgb.shape, 7 if self.night else 10)
        ir = cv2.GaussianBlur(self.ir, (0, 0), 1.0)
        ir = ir + self._sensor_noise(ir.shape, 2)
        return (np.clip(rgb, 0, 255).round().astype(np.uint8),
                np.clip(ir, 0, 255).round().astype(np.uint8))

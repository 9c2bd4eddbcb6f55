"""PixelCNN++: a discretized logistic mixture likelihood over RGB pixels (Salimans, Karpathy, Chen & Kingma 2017).

Likelihood (Sec. 2.1-2.2). Every pixel's three channels share one mixture of K components:

    p(r, g, b) = sum_k pi_k P(r | mu_r,k, s_r,k) P(g | mu_g,k(r), s_g,k) P(b | mu_b,k(r, g), s_b,k)
    mu_g,k = mu_1,k + alpha_k r,     mu_b,k = mu_2,k + beta_k r + gamma_k g                (eq. 3)

with P the discretized logistic of eq. 2 over 256 levels (``DiscretizedLogisticMixture``), values
on the [-1, 1] scale and alpha, beta, gamma = tanh of network outputs. The studio samples R, then
G, then B of each pixel (t = 3 (h W + w) + c), so each step needs its own, self-contained
conditional. Because the component is shared, G given r is again a mixture, whose weights are
the posterior of the component given r, and likewise for B:

    p(g | r) = sum_k w_k^G P(g | k, r),   w^G proportional to pi_k P(r | k)
    p(b | r, g) = sum_k w_k^B P(b | k, r, g),   w^B proportional to pi_k P(r | k) P(g | k, r)

The three step log-probabilities then sum to log p(r, g, b) exactly.

Network. PixelCNN++'s two streams of shifted convs, without its down/up-sampling (the images are
small and the model is kept small for CPU sampling): u sees the rows above (a vertical conv,
shifted down one row), ul the rows above and the pixels to the left (u plus a horizontal conv
with mask A). Each of ``layers`` gated ResNet blocks (Sec. 2.3-2.4; concat_elu, x + a sigmoid(b)):

    u  <- u  + gate(VConv(concat_elu(u)))
    ul <- ul + gate(HConv(concat_elu(ul)) + 1x1(concat_elu(u)))

and the head is a 1x1 conv of elu(ul) to the 10 K mixture parameters of every pixel. u at row i
depends on rows < i only, ul at (i, j) on the pixels before (i, j) in raster order: the whole
pixel (all three channels) is hidden, the channels are coupled only through eq. 3.

The cursor (``PixelCNNppCursor``) keeps every conv's padded input (``ConvCache``, as Ramachandran
et al. 2017): the u stream is computed one row per layer when a row of the image is complete, the
ul stream one pixel per layer at each pixel's R step; G and B only reweight the stored mixture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.dists import DiscretizedLogisticMixture
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import register
from arstudio.models._image import image_spec
from arstudio.models.pixelcnn_cache import ConvCache, pointwise
from arstudio.nn.masked_conv import HorizontalConv2d, VerticalConv2d, shift_down

MIN_LOG_SCALE = -7.0  # as PixelCNN++'s reference code: s >= e^-7, far below a bin (2/255)


def concat_elu(x: torch.Tensor) -> torch.Tensor:
    """elu([x, -x]) along the channel dim 1 (Sec. 2.3): both signs kept, channels doubled."""
    return F.elu(torch.cat([x, -x], dim=1))


def gate(a: torch.Tensor) -> torch.Tensor:
    """a_1 * sigmoid(a_2) with a = [a_1, a_2] split along dim 1: the gated ResNet's output."""
    x, g = a.chunk(2, dim=1)
    return x * torch.sigmoid(g)


def channel_order(channels: int, height: int, width: int) -> list[int]:
    """Step t = channels (h W + w) + c -> flat (C, H, W) index c H W + h W + w: channels innermost."""
    hw = height * width
    return [c * hw + p for p in range(hw) for c in range(channels)]


def pixel_mixtures(p: torch.Tensor, v: torch.Tensor, levels: int, weights: bool = True
                   ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """Per-channel mixture parameters (logit weights, means, log scales), each [..., 3, K], of a pixel.

    ``p`` [..., 10, K] are the network's outputs (pi; mu_r,g,b; log s_r,g,b; alpha, beta, gamma),
    ``v`` [..., 3] the pixel's levels 0..L-1 as floats (only r, g are read). Channel c's weights
    are pi's plus the log-likelihood of the earlier channels under each component (module docstring);
    ``weights=False`` skips them (None).
    """
    log_pi = torch.log_softmax(p[..., 0, :], dim=-1)  # (..., K)
    mu, log_s = p[..., 1:4, :], p[..., 4:7, :].clamp(min=MIN_LOG_SCALE)
    alpha, beta, gamma = torch.tanh(p[..., 7:10, :]).unbind(-2)
    y = v * (2.0 / (levels - 1)) - 1.0  # the [-1, 1] scale of eq. 3
    r, g = y[..., 0:1], y[..., 1:2]
    means = torch.stack([mu[..., 0, :], mu[..., 1, :] + alpha * r, mu[..., 2, :] + beta * r + gamma * g], dim=-2)
    if not weights:
        return None, means, log_s
    lp = DiscretizedLogisticMixture.bin_log_probs(v[..., :2], means[..., :2, :], log_s[..., :2, :], levels)  # (..., 2, K)
    w_g = log_pi + lp[..., 0, :]
    weights = torch.stack([log_pi, w_g, w_g + lp[..., 1, :]], dim=-2)
    return weights, means, log_s


@dataclass
class PixelCNNppConfig:
    """PixelCNN++'s settings: the data's RGB shape and levels, the streams' width, depth and kernels, K mixtures."""

    shape: list[int]
    values: str = "categorical"
    levels: int = 256
    channels: int = 24
    layers: int = 5
    kernel: int = 3
    first_kernel: int = 7
    mixtures: int = 5


@register("pixelcnn_pp", modality="image", title="PixelCNN++ (discretized logistic mixture, RGB)",
          default_data="shapes32",
          default_config={"shape": [3, 32, 32], "values": "categorical", "levels": 256, "channels": 24, "layers": 5,
                          "kernel": 3, "first_kernel": 7, "mixtures": 5},
          tiny_config={"shape": [3, 3, 4], "values": "categorical", "levels": 256, "channels": 4, "layers": 1,
                       "kernel": 3, "first_kernel": 3, "mixtures": 2},
          train_defaults={"steps": 3000, "batch_size": 16, "lr": 2e-3, "eval_every": 500})
class PixelCNNpp(ARModel):
    """PixelCNN++ over RGB pixels of ``levels`` levels: two shifted-conv streams, gated ResNet blocks, DLM head."""

    config_class = PixelCNNppConfig

    def __init__(self, config: PixelCNNppConfig) -> None:
        super().__init__()
        cf = config
        shape, values, levels, channels, layers = cf.shape, cf.values, cf.levels, cf.channels, cf.layers
        kernel, first_kernel, mixtures = cf.kernel, cf.first_kernel, cf.mixtures
        if len(shape) != 3 or shape[0] != 3 or min(shape) < 1:
            raise ValueError(f"pixelcnn_pp models RGB images (3, H, W); got shape {list(shape)}")
        if values != "categorical" or levels < 2:
            raise ValueError(f"pixelcnn_pp models pixels of >= 2 discrete levels; got {values!r} with {levels}")
        if layers < 1 or channels < 1 or mixtures < 1:
            raise ValueError("pixelcnn_pp needs layers, channels and mixtures >= 1")
        self.config = config
        spec = image_spec("pixelcnn_pp", {**asdict(config), "levels": int(levels)}, shape, values, levels)
        self.spec = replace(spec, layout=spec.layout.with_order(channel_order(*spec.layout.shape)))
        self.levels, self.mixtures = int(levels), mixtures
        self.v_in = VerticalConv2d(3, channels, first_kernel)  # rows <= i, shifted down: u
        self.h_in = HorizontalConv2d(3, channels, first_kernel, "A")  # row i, columns < j
        self.v_convs = nn.ModuleList(VerticalConv2d(2 * channels, 2 * channels, kernel) for _ in range(layers))
        self.h_convs = nn.ModuleList(HorizontalConv2d(2 * channels, 2 * channels, kernel, "B") for _ in range(layers))
        self.links = nn.ModuleList(nn.Conv2d(2 * channels, 2 * channels, 1) for _ in range(layers))
        self.head = nn.Conv2d(channels, 10 * mixtures, 1)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        c, h, w = self.spec.layout.shape
        return c, h, w

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Levels 0..L-1 -> [-1, 1] (differentiable for float x), [..., same shape]."""
        return x.float() * (2.0 / (self.levels - 1)) - 1.0

    def mixture_map(self, xe: torch.Tensor) -> torch.Tensor:
        """The network: encoded images [B, 3, H, W] -> mixture parameters [B, 10 K, H, W]."""
        u = shift_down(self.v_in(xe))  # (B, C, H, W): rows < i
        ul = u + self.h_in(xe)  # and row i, columns < j
        for v_conv, h_conv, link in zip(self.v_convs, self.h_convs, self.links):
            u = u + gate(v_conv(concat_elu(u)))
            ul = ul + gate(h_conv(concat_elu(ul)) + link(concat_elu(u)))
        return self.head(F.elu(ul))

    def dists(self, x: torch.Tensor, cond: Any = None) -> DiscretizedLogisticMixture:
        c, h, w = self.image_shape
        xe = self.encode(x).view(-1, c, h, w)
        b, k = xe.shape[0], self.mixtures
        p = self.mixture_map(xe).view(b, 10, k, h * w).permute(0, 3, 1, 2)  # (B, HW, 10, K)
        v = x.float().view(b, c, h * w).transpose(1, 2)  # (B, HW, 3) levels
        weights, means, log_s = pixel_mixtures(p, v, self.levels)  # (B, HW, 3, K) each
        t = h * w * c
        return DiscretizedLogisticMixture(weights.reshape(b, t, k), means.reshape(b, t, k), log_s.reshape(b, t, k),
                                          self.levels)  # step order: (pixel, channel)

    def nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """-log p(x) in nats [B] straight from the joint of each pixel, -log sum_k pi_k prod_c P(v_c | k).

        Equal to the sum of the per-step terms of ``log_prob`` (the posterior weights telescope), at
        about half the cost: what training and evaluation use.
        """
        c, h, w = self.image_shape
        xe = self.encode(x).view(-1, c, h, w)
        b, k = xe.shape[0], self.mixtures
        p = self.mixture_map(xe).view(b, 10, k, h * w).permute(0, 3, 1, 2)  # (B, HW, 10, K)
        v = x.float().view(b, c, h * w).transpose(1, 2)  # (B, HW, 3) levels
        _, means, log_s = pixel_mixtures(p, v, self.levels, weights=False)
        lp = DiscretizedLogisticMixture.bin_log_probs(v, means, log_s, self.levels).sum(-2)  # (B, HW, K)
        return -torch.logsumexp(torch.log_softmax(p[..., 0, :], dim=-1) + lp, dim=-1).sum(-1)

    def start(self, batch: int, cond: Any = None) -> "PixelCNNppCursor":
        return PixelCNNppCursor(self, batch, cond)


class PixelCNNppCursor(Cursor):
    """The u stream one row per layer per image row, the ul stream one pixel per layer per pixel; G, B reweight."""

    def __init__(self, model: PixelCNNpp, batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)
        _, self.height, self.width = model.image_shape
        dev, hh, w = model.device, self.height, self.width
        self.v_in = ConvCache(model.v_in, batch, hh, w, dev)
        self.h_in = ConvCache(model.h_in, batch, hh, w, dev)
        self.v = [ConvCache(conv, batch, hh, w, dev) for conv in model.v_convs]
        self.h = [ConvCache(conv, batch, hh, w, dev) for conv in model.h_convs]
        self.pixel = torch.zeros(batch, 3, device=dev)  # the current pixel's levels as pushed (floats)
        self.p: torch.Tensor | None = None  # (B, 10, K): the current pixel's mixture outputs
        self._row(0)

    @torch.no_grad()
    def _row(self, i: int) -> None:
        """Row i of the u stream, every layer, and its 1x1 links into ul: needs image rows < i."""
        m = self.model
        n_ch = m.v_in.out_channels
        u = self.v_in.row(i - 1) if i > 0 else torch.zeros(self.batch, n_ch, self.width, device=m.device)
        self.u0 = u  # (B, C, W)
        self.links = []
        for cache, link in zip(self.v, m.links):
            cache.write_row(i, concat_elu(u))
            u = u + gate(cache.row(i))
            self.links.append(pointwise(link, concat_elu(u)))  # (B, 2C, W)

    @torch.no_grad()
    def _compute(self, i: int, j: int) -> torch.Tensor:
        """The ul stream at (i, j), every layer; the pixel's mixture outputs [B, 10, K]."""
        m = self.model
        ul = self.u0[:, :, j] + self.h_in.at(i, j)  # (B, C)
        for cache, link in zip(self.h, self.links):
            cache.write(i, j, concat_elu(ul))
            ul = ul + gate(cache.at(i, j) + link[:, :, j])
        return pointwise(m.head, F.elu(ul)).view(self.batch, 10, m.mixtures)

    def _ensure(self) -> torch.Tensor:
        if self.p is None:
            self.p = self._compute(*divmod(self.t // 3, self.width))
        return self.p

    @torch.no_grad()
    def dist(self) -> DiscretizedLogisticMixture:
        weights, means, log_s = pixel_mixtures(self._ensure(), self.pixel, self.model.levels)  # (B, 3, K)
        c = self.t % 3
        return DiscretizedLogisticMixture(weights[:, c], means[:, c], log_s[:, c], self.model.levels)

    def _update(self, x_t: torch.Tensor) -> None:
        self._ensure()  # a push without dist() (prefill) still needs this pixel's features
        pix, c = divmod(self.t, 3)
        self.pixel[:, c] = x_t.float()
        if c < 2:
            return
        i, j = divmod(pix, self.width)
        with torch.no_grad():
            u = self.model.encode(self.pixel)  # (B, 3) on [-1, 1]
            self.v_in.write(i, j, u)
            self.h_in.write(i, j, u)
        self.pixel = torch.zeros_like(self.pixel)
        self.p = None
        if j == self.width - 1 and i + 1 < self.height:
            self._row(i + 1)

    def _select(self, rows: torch.Tensor) -> None:
        for cache in (self.v_in, self.h_in, *self.v, *self.h):
            cache.select(rows)
        self.u0, self.links, self.pixel = self.u0[rows], [lk[rows] for lk in self.links], self.pixel[rows]
        if self.p is not None:
            self.p = self.p[rows]

"""Fast WaveNet generation (Paine et al. 2016, "Fast Wavenet Generation Algorithm", arXiv:1611.09482).

Naive generation runs every layer over the whole prefix for each new sample: O(t) per step. But a
dilated conv of kernel 2 and dilation d needs, for the new position t, only its input at t and at
t - d; both were computed before. Paine et al. keep, per layer, a queue of the layer's past inputs
(length d): a step pops the input from d steps ago, pushes the new one, and costs O(layers).

Here every layer's queue is one slice of a single ring buffer ``hist`` [R, layers, B, Cr] of the
layer inputs of the last R = (k-1) * max(d) + 1 positions: a step reads the inputs t - j d_l of
every layer l and tap j with one ``index_select`` (precomputed indices per position mod R), applies
all the past taps at once with one ``baddbmm``, and then walks the layers with four raw tensor ops
each, on weights extracted once when the cursor starts (no ``nn.Module`` call per layer):

    pre_l = P_l + h_l W_cur,l                       (the dilated conv: past taps P_l, current tap)
    th_l  = tanh(pre_l)                             (gate rows pre-scaled by 1/2: σ(g) = (1 + tanh(g/2)) / 2)
    z_l   = th_f + th_f ⊙ th_g  (= 2 z)             (the gated unit of eq. 2; the 1/2 is folded into W_r, W_s)
    h_l+1 = h_l + z_l W_r,l                         (residual, no bias)

then the skips of all layers in one matmul and the output head. The conditioning term of every
layer (voice row + the 1x1 of the mel frame's features + the conv bias) changes once per mel frame
and is computed then, per frame, never for all samples ahead. The sums run in another order than
the parallel convs, so results agree to float rounding; sampling by inverse CDF then draws the same
values as ``NaiveCursor`` (the invariant tests check it).

``prefill`` (a primer) fills the queues from one parallel pass over the primer's last R positions
plus the receptive field before them, instead of pushing sample by sample.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from arstudio.core.dists import Categorical
from arstudio.core.protocol import Cursor

if TYPE_CHECKING:
    from arstudio.models.wavenet import WaveNet


class WaveNetCursor(Cursor):
    """A queue of past inputs per dilated layer (one shared ring buffer); O(layers) work per sample."""

    model: "WaveNet"

    def __init__(self, model: "WaveNet", batch: int, cond: Any = None) -> None:
        super().__init__(model, batch, cond)  # self.x: a normal tensor (pushes write it outside inference mode)
        with torch.inference_mode():
            self._start(model, batch, cond)

    def _start(self, model: "WaveNet", batch: int, cond: Any) -> None:
        c, dev = model.config, model.device
        self.L, self.k, self.hop = model.n_layers, c.kernel_size, c.hop_length
        self.Cr, self.Cd = c.residual_channels, c.dilation_channels
        self._weights()
        dil = model.dilations
        self.R = R = (self.k - 1) * max(dil) + 1
        # idx[r]: the flat hist rows (slot (r - j d_l) mod R, layer l) of every layer l and past tap j = 1..k-1.
        r = torch.arange(R)[:, None, None]
        j = torch.arange(1, self.k)[None, None, :]
        d = torch.as_tensor(dil)[None, :, None]
        flat = ((r - j * d) % R) * self.L + torch.arange(self.L)[None, :, None]  # (R, L, k-1)
        self.idx = list(flat.reshape(R, -1).to(dev).unbind(0))
        voice, mel = model.unpack_cond(cond, batch)
        self.cond = None if cond is None else torch.as_tensor(cond, dtype=torch.float32, device=dev).expand(batch, -1)
        frames = math.ceil(self.layout.length / self.hop)
        self.feats = model.frame_features(mel, frames, batch) if c.n_mels else None  # (B, Cc, F), tiny
        self.voice_bias = model.voice(voice) if model.voice is not None else None  # (B, L * 2Cd)
        self._alloc(batch)
        self.frame = -1  # the mel frame whose bias ``cbias`` holds
        self.logits: torch.Tensor | None = None  # of step self.t, once computed

    def _weights(self) -> None:
        """Every weight as the matrix a step multiplies by, the sigmoid's 1/2 folded in."""
        m, L, k, Cd = self.model, self.L, self.k, self.Cd
        scale = torch.ones(2 * Cd, device=m.device)
        scale[Cd:] = 0.5  # gate rows: tanh(g / 2)
        w = torch.stack([b.conv.weight.detach() for b in m.blocks]) * scale[None, :, None, None]  # (L, 2Cd, Cr, k)
        self.w_cur = list(w[..., k - 1].transpose(1, 2).contiguous().unbind(0))  # L x (Cr, 2Cd)
        past = [w[..., k - 1 - j].transpose(1, 2) for j in range(1, k)]  # (L, Cr, 2Cd) for offsets j d
        self.w_past = torch.cat(past, dim=1).contiguous()  # (L, (k-1) Cr, 2Cd)
        self.conv_bias = torch.stack([b.conv.bias.detach() for b in m.blocks])  # (L, 2Cd), unscaled
        self.scale = scale
        self.w_res = [0.5 * b.res.weight.detach().t().contiguous() for b in m.blocks if b.res is not None]
        self.w_skip = 0.5 * torch.cat([b.skip.weight.detach().t() for b in m.blocks], dim=0)  # (L Cd, Cs)
        self.b_skip = torch.stack([b.skip.bias.detach() for b in m.blocks]).sum(0)
        self.w1, self.b1 = m.head1.weight.detach().t().contiguous(), m.head1.bias.detach()
        self.w2, self.b2 = m.head2.weight.detach().t().contiguous(), m.head2.bias.detach()
        self.table = m.embed.weight.detach()

    def _alloc(self, batch: int, hist: torch.Tensor | None = None, hcur: torch.Tensor | None = None) -> None:
        """The state buffers (fresh zeros unless given) and the fixed views a step writes through."""
        dev, L, Cd = self.model.device, self.L, self.Cd
        self.hist = hist if hist is not None else torch.zeros(self.R, L, batch, self.Cr, device=dev)
        self.hist_flat = self.hist.view(self.R * L, batch, self.Cr)
        self.hcur = hcur if hcur is not None else torch.zeros(L, batch, self.Cr, device=dev)  # layer inputs now
        self.pre = torch.empty(L, batch, 2 * Cd, device=dev)
        self.zbuf = torch.empty(batch, L * Cd, device=dev)
        self.h_views = list(self.hcur.unbind(0))
        self.pre_views = list(self.pre.unbind(0))
        self.f_views = [p[:, :Cd] for p in self.pre_views]
        self.g_views = [p[:, Cd:] for p in self.pre_views]
        self.z_views = [self.zbuf[:, i * Cd:(i + 1) * Cd] for i in range(L)]

    def _frame_bias(self, j: int) -> torch.Tensor:
        """Every layer's conv bias plus conditioning during mel frame j, gate rows halved: (L, B, 2Cd)."""
        m, B = self.model, self.batch
        b = self.conv_bias[None].expand(B, -1, -1)  # (B, L, 2Cd)
        if self.feats is not None:
            y = self.feats[:, :, min(j, self.feats.shape[-1] - 1)]  # (B, Cc)
            proj = torch.addmm(m.mel_proj.bias, y, m.mel_proj.weight.t())  # (B, L * 2Cd)
            b = b + proj.view(B, self.L, -1)
        if self.voice_bias is not None:
            b = b + self.voice_bias.view(B, self.L, -1)
        return (b * self.scale).transpose(0, 1).contiguous()

    def _compute(self) -> torch.Tensor:
        """Run every layer at position t (writing its inputs into the queues); the logits of step t, (B, levels)."""
        t = self.t
        j = t // self.hop if self.feats is not None else 0
        if j != self.frame:
            self.cbias, self.frame = self._frame_bias(j), j
        r = t % self.R
        past = torch.index_select(self.hist_flat, 0, self.idx[r])  # (L (k-1), B, Cr)
        if self.k > 2:
            past = past.view(self.L, self.k - 1, self.batch, self.Cr).transpose(1, 2).reshape(self.L, self.batch, -1)
        else:
            past = past.view(self.L, self.batch, self.Cr)
        torch.baddbmm(self.cbias, past, self.w_past, out=self.pre)  # every layer's past taps and bias at once
        h, pre, f, g, z, w_cur, w_res = self.h_views, self.pre_views, self.f_views, self.g_views, self.z_views, \
            self.w_cur, self.w_res
        last = self.L - 1
        for i in range(self.L):
            pre[i].addmm_(h[i], w_cur[i])
            pre[i].tanh_()
            torch.addcmul(f[i], f[i], g[i], out=z[i])
            if i < last:
                torch.addmm(h[i], z[i], w_res[i], out=h[i + 1])
        self.hist[r].copy_(self.hcur)
        s = torch.addmm(self.b_skip, self.zbuf, self.w_skip).relu_()
        return torch.addmm(self.b2, torch.addmm(self.b1, s, self.w1).relu_(), self.w2)

    def _ensure(self) -> torch.Tensor:
        if self.logits is None:
            with torch.inference_mode():
                self.logits = self._compute()
        return self.logits

    def dist(self) -> Categorical:
        return Categorical(self._ensure(), self.model.labels)

    def _update(self, x_t: torch.Tensor) -> None:
        if self.t + 1 >= self.layout.length:
            return  # the last step: nothing reads its input
        self._ensure()  # a push without dist() still needs this position's layer inputs in the queues
        with torch.inference_mode():
            torch.index_select(self.table, 0, x_t.long(), out=self.h_views[0])  # the next position reads x_t
        self.logits = None

    @torch.inference_mode()
    def _select(self, rows: torch.Tensor) -> None:
        self._alloc(len(rows), self.hist[:, :, rows].contiguous(), self.hcur[:, rows].contiguous())
        if self.frame >= 0:
            self.cbias = self.cbias[:, rows].contiguous()
        if self.feats is not None:
            self.feats = self.feats[rows]
        if self.voice_bias is not None:
            self.voice_bias = self.voice_bias[rows]
        if self.cond is not None:
            self.cond = self.cond[rows]
        if self.logits is not None:
            self.logits = self.logits[rows]

    def prefill(self, prefix: torch.Tensor) -> None:
        """Push a primer [B, n] (or [n]) in one parallel pass, filling the queues from its last R positions."""
        prefix = torch.as_tensor(prefix, device=self.x.device).long()
        if prefix.ndim == 1:
            prefix = prefix.expand(self.batch, -1)
        n = prefix.shape[1]
        if n == 0:
            return
        if self.t + n > self.layout.length:
            raise ValueError(f"wavenet: a primer of {n} samples after {self.t} does not fit {self.layout.length}")
        if int(prefix.min()) < 0 or int(prefix.max()) >= self.model.config.levels:
            raise ValueError(f"wavenet: codes must lie in 0..{self.model.config.levels - 1}")
        self.x[:, self.t:self.t + n] = prefix
        self.t += n
        self.logits, self.frame = None, -1
        if self.t >= self.layout.length:
            return
        with torch.inference_mode():
            self._refill(self.x[:, :self.t])

    def _refill(self, x: torch.Tensor) -> None:
        """The queues and the next input after the values x [B, t] (t < length), from one parallel pass.

        Only the last R positions' layer inputs are kept, and each needs the receptive field before
        it, so the pass runs over a window from (about) t - R - receptive field on, starting on a
        frame boundary so that the mel frames stay aligned: O(R), whatever the primer's length.
        """
        m, t, hop = self.model, x.shape[1], self.hop
        s0 = max(0, t - self.R - m.receptive_field) // hop * hop
        voice, _ = m.unpack_cond(self.cond, self.batch)
        feats = None if self.feats is None else self.feats[:, :, s0 // hop:math.ceil(t / hop)]
        _, inputs = m.trunk(x[:, s0:], m.cond_bias(voice, feats), keep_inputs=True)  # inputs: (B, t - s0, Cr) each
        first = max(0, t - self.R)
        self.hist.zero_()
        pos = torch.arange(first, t, device=x.device)
        layers = torch.stack([h[:, first - s0:] for h in inputs])  # (L, B, n, Cr)
        self.hist[pos % self.R] = layers.permute(2, 0, 1, 3)
        torch.index_select(self.table, 0, x[:, -1], out=self.h_views[0])

"""WaveNet: dilated causal convolutions over 8-bit mu-law audio (van den Oord et al. 2016, arXiv:1609.03499).

The waveform x = (x_1, ..., x_T) is modelled as

    p(x | h) = prod_t p(x_t | x_1, ..., x_{t-1}, h)                                        (eq. 1, 2)

each conditional a 256-way softmax over the mu-law levels (Sec. 2.2). The network: the previous
sample's code, embedded (one-hot times a matrix) and shifted one step so that step t sees x_<t
only; ``stacks`` stacks of ``layers`` dilated causal convs (kernel 2, dilations 1, 2, ..., 512,
Sec. 2.1, Fig. 3); in every layer the gated activation unit with the conditioning h

    z = tanh(W_{f,k} * x + V_{f,k}^T h) ⊙ σ(W_{g,k} * x + V_{g,k}^T h)          (eq. 2 with 3: global)
    z = tanh(W_{f,k} * x + V_{f,k} * y) ⊙ σ(W_{g,k} * x + V_{g,k} * y)          (eq. 4: local, y = f(mel))

then a 1x1 conv back to the residual stream (x + W_r z) and one to the skip connections
(Sec. 2.4, Fig. 4); the output is ReLU, 1x1, ReLU, 1x1 on the sum of the skips, then softmax.
The receptive field is (kernel - 1) * sum(dilations) + 1 samples (2 * 1023 + 1 = 2047 by default).

Conditioning (``cond``): a float tensor [B, 1 + n_mels * F] (or [1 + n_mels * F], shared by the
batch; or None = unconditional). Column 0 is the voice index (0 .. len(voices) - 1, or -1 for no
voice); the rest is a log-mel [n_mels, F] flattened mel-bin major; frame j conditions samples
[j * hop, (j + 1) * hop). The voice picks a row of a learned table (V^T h with h one-hot, every
layer's V at once); a "no voice" row stands for -1. The mel goes through a small conv over frames
(the paper's f(.) is a learned upsampling; here two convs over frames then repetition by
``hop_length``); frames past the end of the mel, and an absent mel, use a learned "no mel" vector
instead. ``cond_dropout`` drops voice and mel independently per example in ``training_loss``, so
one model vocodes a mel, speaks in a voice, or babbles with neither.

Fast generation follows Paine et al. 2016 (arXiv:1611.09482): every dilated layer keeps a queue of
its past inputs, so a step costs O(layers) whatever t is (``arstudio.models.wavenet_fast``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from arstudio.core.dists import Categorical
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.registry import modality_of, register
from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.models.wavenet_fast import WaveNetCursor
from arstudio.nn.dilated import GatedResidualBlock

EVAL_POSITIONS = 1 << 18  # samples per chunk of eval_nll (bounds memory on long held-out clips)


@dataclass
class WaveNetConfig:
    """WaveNet's settings: the audio (rate, length, levels), the stacks, the channels, the conditioning."""

    sample_rate: int = 16000
    length: int = 160000  # layout shape (length,): the most samples one run writes
    levels: int = 256
    stacks: int = 2
    layers: int = 10  # per stack; dilations 1, 2, ..., 2**(layers-1)
    kernel_size: int = 2
    residual_channels: int = 32
    dilation_channels: int = 32
    skip_channels: int = 64
    voices: list[str] = field(default_factory=list)  # global conditioning; [] = none
    n_mels: int = 80  # local conditioning on a log-mel; 0 = none
    hop_length: int = 256  # samples per mel frame (the upsampling factor)
    n_fft: int = 1024
    f_min: float = 0.0
    f_max: float = 8000.0
    cond_dropout: float = 0.5  # training: probability each of voice / mel is dropped
    cond_channels: int = 64  # width of the mel's frame features y


def _check(c: WaveNetConfig) -> None:
    for name in ("length", "stacks", "layers", "residual_channels", "dilation_channels", "skip_channels",
                 "hop_length", "cond_channels"):
        if int(getattr(c, name)) < 1:
            raise ValueError(f"wavenet: {name} must be at least 1, got {getattr(c, name)}")
    if c.levels < 2 or c.kernel_size < 2 or c.n_mels < 0:
        raise ValueError(f"wavenet: needs levels >= 2, kernel_size >= 2, n_mels >= 0 (got {c.levels}, "
                         f"{c.kernel_size}, {c.n_mels})")
    if not 0.0 <= c.cond_dropout <= 1.0:
        raise ValueError(f"wavenet: cond_dropout is a probability, got {c.cond_dropout}")


@register("wavenet", modality="audio", title="WaveNet (dilated causal convolutions, mu-law audio)",
          default_data="speech16k", tiny_data="tones16k",
          default_config=asdict(WaveNetConfig()),
          tiny_config={"length": 64, "stacks": 2, "layers": 3, "residual_channels": 8, "dilation_channels": 8,
                       "skip_channels": 8, "n_mels": 8, "hop_length": 8, "n_fft": 32, "cond_channels": 8},
          train_defaults={"steps": 3000, "batch_size": 8, "lr": 2e-3, "eval_every": 250})
class WaveNet(ARModel):
    """Dilated causal conv stacks with gated units, residual and skip connections, over mu-law codes."""

    config_class = WaveNetConfig
    float_input = False  # codes go through an embedding: the gradient check hooks ``input_embedding``

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        _check(config)
        c = self.config = config
        cond = ({"voices": len(c.voices), "n_mels": c.n_mels, "hop_length": c.hop_length}
                if (c.voices or c.n_mels) else {})
        self.spec = ModelSpec("wavenet", asdict(c), Layout(modality_of("wavenet"), (int(c.length),)),
                              ValueSpace("categorical", int(c.levels)), cond)
        self.dilations = [2 ** i for _ in range(c.stacks) for i in range(c.layers)]
        self.receptive_field = (c.kernel_size - 1) * sum(self.dilations) + 1
        self.n_voices, self.n_layers, self.width = len(c.voices), len(self.dilations), 2 * c.dilation_channels
        self.embed = nn.Embedding(c.levels, c.residual_channels)
        self.blocks = nn.ModuleList(
            GatedResidualBlock(c.residual_channels, c.dilation_channels, c.skip_channels, c.kernel_size, d,
                               residual=i + 1 < self.n_layers) for i, d in enumerate(self.dilations))
        # V_{f,k}, V_{g,k} of every layer k at once: a voice's row (eq. 3), the frame features' 1x1 (eq. 4).
        self.voice = nn.Embedding(self.n_voices + 1, self.n_layers * self.width) if c.voices else None
        if c.n_mels:
            self.mel_net = nn.Sequential(nn.Conv1d(c.n_mels, c.cond_channels, 3, padding=1), nn.ReLU(),
                                         nn.Conv1d(c.cond_channels, c.cond_channels, 3, padding=1))
            self.no_mel = nn.Parameter(torch.zeros(c.cond_channels))
            self.mel_proj = nn.Linear(c.cond_channels, self.n_layers * self.width)
        self.head1 = nn.Linear(c.skip_channels, c.skip_channels)
        self.head2 = nn.Linear(c.skip_channels, c.levels)

    def input_embedding(self) -> nn.Module:
        """The module that embeds the codes x (the gradient check's route to the input)."""
        return self.embed

    @property
    def labels(self) -> tuple[str, ...] | None:
        """Display labels of the levels (amplitudes, set by the audio modality), or None."""
        return self.spec.values.labels

    def set_labels(self, labels: tuple[str, ...] | list[str]) -> None:
        """Name the levels in every ``Dist`` view (e.g. "+0.0312")."""
        labels = tuple(labels)
        if len(labels) != self.config.levels:
            raise ValueError(f"{len(labels)} labels for {self.config.levels} levels")
        self.spec = replace(self.spec, values=replace(self.spec.values, labels=labels))

    # ------------------------------------------------------------------ conditioning

    def unpack_cond(self, cond: Any, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(voice [B] long, ``n_voices`` for none; mel [B, n_mels, F] or None) from the packed ``cond``."""
        dev = self.device
        none = torch.full((batch,), self.n_voices, dtype=torch.long, device=dev)
        if cond is None:
            return none, None
        c = torch.as_tensor(cond, dtype=torch.float32, device=dev)
        if c.ndim == 1 or (c.ndim == 2 and c.shape[0] == 1):  # one row for the whole batch
            c = c.reshape(1, -1).expand(batch, -1)
        if c.ndim != 2 or c.shape[0] != batch or c.shape[1] < 1:
            raise ValueError(f"wavenet: cond must be [batch={batch}, 1 + n_mels * frames], got {list(c.shape)}")
        v = c[:, 0].round().long()
        if c.shape[0] and (int(v.min()) < -1 or int(v.max()) >= self.n_voices):
            raise ValueError(f"wavenet: voice {int(v.max()) if int(v.max()) >= 0 else int(v.min())} is not one of "
                             f"this model's {self.n_voices} voices (or -1 for none)")
        voice = torch.where(v < 0, none, v)
        k = c.shape[1] - 1
        if k == 0:
            return voice, None
        n_mels = self.config.n_mels
        if n_mels == 0 or k % n_mels:
            raise ValueError(f"wavenet: cond has {k} mel values, not a whole number of frames of {n_mels} mel bins")
        return voice, c[:, 1:].reshape(batch, n_mels, k // n_mels)

    def frame_features(self, mel: torch.Tensor | None, frames: int, batch: int,
                       keep: torch.Tensor | None = None) -> torch.Tensor:
        """y: the mel's features for frames 0 .. frames-1, [B, cond_channels, frames]; "no mel" past its end.

        The convs read the whole mel (never one cut at ``frames``), so a frame's features do not
        depend on how many samples are asked for. ``keep`` [B] bool drops the mel of some rows.
        """
        none = self.no_mel[None, :, None].expand(batch, -1, frames)
        if mel is None:
            return none
        y = self.mel_net(mel)[:, :, :frames]  # (B, Cc, <= frames)
        if y.shape[-1] < frames:
            y = torch.cat([y, none[:, :, y.shape[-1]:]], dim=-1)
        return y if keep is None else torch.where(keep[:, None, None], y, none)

    def cond_bias(self, voice: torch.Tensor, feats: torch.Tensor | None) -> torch.Tensor | None:
        """V^T h + V * y of every layer per frame, [B, frames, layers * 2 Cd] (frames = 1 without a mel), or None."""
        out = None
        if self.config.n_mels and feats is not None:
            out = self.mel_proj(feats.transpose(1, 2))  # (B, F, L * 2Cd)
        if self.voice is not None:
            v = self.voice(voice)[:, None, :]  # (B, 1, L * 2Cd)
            out = v if out is None else out + v
        return out

    def _features(self, voice: torch.Tensor, mel: torch.Tensor | None, steps: int, batch: int,
                  keep: torch.Tensor | None = None) -> torch.Tensor | None:
        feats = None
        if self.config.n_mels:
            feats = self.frame_features(mel, max(1, math.ceil(steps / self.config.hop_length)), batch, keep)
        return self.cond_bias(voice, feats)

    # ------------------------------------------------------------------ the network

    def trunk(self, x: torch.Tensor, bias: torch.Tensor | None, keep_inputs: bool = False
              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits [B, T, levels] for codes x [B, T] under the per-frame bias; and each layer's input if asked.

        Time-major throughout ([B, T, channels]): every 1x1 conv is a matmul.
        """
        B, T = x.shape
        h = F.pad(self.embed(x), (0, 0, 1, 0))[:, :T]  # (B, T, Cr); shift: position t holds x_{t-1}, zeros at 0
        hop, w = self.config.hop_length, self.width
        if bias is not None and self.config.n_mels:
            frames = bias.shape[1]
            if T == frames * hop:  # frame j -> samples [j hop, (j+1) hop): a broadcast over each run
                bias = bias[:, :, None]  # (B, F, 1, L * 2Cd)
            else:
                bias = bias.repeat_interleave(hop, dim=1)[:, :T]  # (B, T, L * 2Cd)
        skip = torch.stack([b.skip.bias for b in self.blocks]).sum(0).expand(B * T, -1)  # every skip's bias
        inputs = []
        for k, block in enumerate(self.blocks):
            if keep_inputs:
                inputs.append(h)
            h, z = block(h, bias[..., k * w:(k + 1) * w] if bias is not None else None)
            skip = torch.addmm(skip, z.reshape(B * T, -1), block.skip.weight.t())  # + W_s,k z_k, one fused op
        skip = skip.view(B, T, -1)  # (B, T, Cs)
        return self.head2(F.relu(self.head1(F.relu(skip)))), inputs

    def _codes(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] > self.layout.length:
            raise ValueError(f"wavenet: x must be [batch, T] with T <= {self.layout.length}, got {list(x.shape)}")
        x = x.long()
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.config.levels):
            raise ValueError(f"wavenet: codes must lie in 0..{self.config.levels - 1}")
        return x

    def _logits(self, x: torch.Tensor, cond: Any, dropout: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits [B, T, levels] of codes x [B, T]."""
        B, T = x.shape
        voice, mel = self.unpack_cond(cond, B)
        keep = None
        if dropout > 0:
            u = torch.rand(2, B, generator=generator).to(x.device)
            voice = torch.where(u[0] < dropout, torch.full_like(voice, self.n_voices), voice)
            keep = u[1] >= dropout if mel is not None else None
        logits, _ = self.trunk(x, self._features(voice, mel, T, B, keep))
        return logits  # (B, T, levels)

    def dists(self, x: torch.Tensor, cond: Any = None) -> Categorical:
        """p(x_t | x_<t, cond) for every t of x [B, T], any T up to ``layout.length``."""
        return Categorical(self._logits(self._codes(x), cond), self.labels)

    @staticmethod
    def _nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log p(x_t) [B, T] in one fused log-softmax and gather (no normalised [B, T, levels] copy)."""
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="none").view(x.shape)

    def log_prob(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """log p(x_t | x_<t, cond), [B, T]."""
        x = self._codes(x)
        return -self._nll(self._logits(x, cond), x)

    def training_loss(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
        """Mean NLL in nats per example, voice and mel each dropped with probability ``cond_dropout``."""
        x = self._codes(x)
        logits = self._logits(x, cond, self.config.cond_dropout if cond is not None else 0.0, generator)
        return self._nll(logits, x).sum(-1).mean()

    def eval_nll(self, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """NLL per example [B], in chunks of rows so that long clips fit in memory."""
        rows = max(1, EVAL_POSITIONS // max(1, x.shape[1]))
        c = torch.as_tensor(cond) if cond is not None else None
        if c is not None and c.ndim == 1:
            c = c[None].expand(x.shape[0], -1)
        return torch.cat([self.nll(x[i:i + rows], c[i:i + rows] if c is not None else None)
                          for i in range(0, x.shape[0], rows)]) if x.shape[0] else self.nll(x, cond)

    def example_cond(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Random voices (some -1) and a random mel covering ``layout.length``, packed [B, 1 + n_mels * F]."""
        if not self.spec.cond:
            return None
        voice = (torch.randint(-1, self.n_voices, (batch, 1), generator=generator).float() if self.n_voices
                 else torch.full((batch, 1), -1.0))
        frames = math.ceil(self.layout.length / self.config.hop_length) if self.config.n_mels else 0
        mel = torch.randn(batch, self.config.n_mels * frames, generator=generator) * 2.0 - 4.0
        return torch.cat([voice, mel], dim=1).to(self.device)

    def start(self, batch: int, cond: Any = None) -> Cursor:
        return WaveNetCursor(self, batch, cond)

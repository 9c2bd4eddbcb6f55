"""The GUI-free core: protocol, distributions, sampling policies, the generate loop, checkpoints."""

from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from arstudio.core.dists import Bernoulli, Categorical, DiscretizedLogisticMixture, Dist, DistView, GaussianMixture
from arstudio.core.generate import Step, generate, make_generator, sample
from arstudio.core.policy import GREEDY, SamplingPolicy
from arstudio.core.protocol import ARModel, Cursor, NaiveCursor
from arstudio.core.spec import Layout, ModelSpec, ValueSpace

__all__ = [
    "ARModel", "Bernoulli", "Categorical", "CheckpointError", "CheckpointMeta", "Cursor", "DiscretizedLogisticMixture",
    "Dist", "DistView",
    "GREEDY", "GaussianMixture", "Layout", "ModelSpec", "NaiveCursor", "SamplingPolicy", "Step", "ValueSpace",
    "generate", "load_checkpoint", "make_generator", "read_meta", "sample", "save_checkpoint",
]

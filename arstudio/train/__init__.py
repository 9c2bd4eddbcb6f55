"""Maximum-likelihood training and held-out evaluation (nats, bits per dimension)."""

from arstudio.train.evaluate import evaluate
from arstudio.train.fit import TrainConfig, Trainer, train_kind

__all__ = ["TrainConfig", "Trainer", "evaluate", "train_kind"]

"""Model families, one file each; importing this package registers them all."""

from arstudio.models import eonade, fvsbn, made, nade  # noqa: F401  (registers the kinds)
from arstudio.models import char_rnn, gpt  # noqa: F401,E402  (text models)
from arstudio.models import gated_pixelcnn, pixelcnn  # noqa: F401,E402  (image models, issue 3)
from arstudio.models import pixelcnn_pp, pixelrnn, pixelrnn_diagonal, rnade  # noqa: F401,E402  (issue 3)

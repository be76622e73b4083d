"""Models: backbones, LoRA, band splitters, losses, connectors, distillers."""
from . import (backbones, connectors, data_preprocessors, distillers,  # noqa
               heads, losses)
from . import freq  # noqa: F401  (band splitters)
from . import necks  # noqa: F401  (ViT feature pyramids)
from . import weight_init  # noqa: F401  (the CheckedPretrained initialiser)

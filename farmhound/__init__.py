"""farmhound: the UI-free core (store, models, CLI) of the distillation-farm workbench."""

__version__ = "0.1.0"

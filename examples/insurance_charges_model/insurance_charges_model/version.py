"""Version of the insurance charges example model (single source for the package and the model)."""

__version__ = "0.1.0"

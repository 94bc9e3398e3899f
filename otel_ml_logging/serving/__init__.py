"""Serving helpers shared by the SageMaker app and the command line: the rest config, models, headers."""

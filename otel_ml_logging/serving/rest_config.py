"""Load a rest-model-service YAML and build its models with their decorators, as the service does.

Errors name the place in the file (``models[0].decorators[1]``), the class and the problem, so that
``otel-ml-logging check`` and a starting server say the same thing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class RestConfigError(ValueError):
    """The rest config cannot be read, or a model or decorator in it cannot be built."""


@dataclass(frozen=True)
class BuiltModel:
    """A model with its decorators applied, and where it came from."""

    location: str
    class_path: str
    decorators: tuple[str, ...]
    model: Any

    @property
    def qualified_name(self) -> str:
        """The model's qualified name."""
        return str(self.model.qualified_name)


def read_rest_config(path: str | Path) -> dict[str, Any]:
    """Parse the YAML file; it must be a mapping with a ``models`` list."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RestConfigError(f"cannot read rest config {str(path)!r}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise RestConfigError(f"rest config {str(path)!r} is not UTF-8: byte {error.start}: {error.reason}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RestConfigError(f"rest config {str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise RestConfigError(f"rest config {str(path)!r} has no 'models' list")
    return document


def load_type(class_path: str, location: str) -> Any:
    """Import ``package.module.Class``."""
    module_path, _, name = str(class_path).rpartition(".")
    if not module_path:
        raise RestConfigError(f"{location}: class_path {class_path!r} is not 'module.Class'")
    try:
        return getattr(importlib.import_module(module_path), name)
    except (ImportError, AttributeError) as error:
        raise RestConfigError(f"{location}: cannot import {class_path!r}: {error}") from None


def build_models(document: dict[str, Any]) -> list[BuiltModel]:
    """Instantiate every model and apply its decorators in order (as rest-model-service's ModelManager)."""
    built = []
    for index, entry in enumerate(document["models"]):
        location = f"models[{index}]"
        if not isinstance(entry, dict) or "class_path" not in entry:
            raise RestConfigError(f"{location}: needs a class_path")
        model_class = load_type(entry["class_path"], location)
        model = _construct(model_class, entry.get("configuration"), f"{location} ({entry['class_path']})")
        names = []
        for position, decorator_entry in enumerate(entry.get("decorators") or []):
            where = f"{location}.decorators[{position}]"
            if not isinstance(decorator_entry, dict) or "class_path" not in decorator_entry:
                raise RestConfigError(f"{where}: needs a class_path")
            class_path = decorator_entry["class_path"]
            decorator = _construct(
                load_type(class_path, where), decorator_entry.get("configuration"), f"{where} ({class_path})"
            )
            try:
                model = decorator.set_model(model)
            except Exception as error:
                raise RestConfigError(f"{where} ({class_path}): {error}") from None
            names.append(class_path)
        built.append(BuiltModel(location, entry["class_path"], tuple(names), model))
    return built


def _construct(cls: Any, configuration: Any, where: str) -> Any:
    if configuration is not None and not isinstance(configuration, dict):
        raise RestConfigError(f"{where}: configuration must be a mapping, got {type(configuration).__name__}")
    try:
        return cls(**(configuration or {}))
    except Exception as error:
        raise RestConfigError(f"{where}: {error}") from None


def choose_model(models: list[BuiltModel], options: dict[str, Any], where: str) -> BuiltModel:
    """Return the model that answers ``/invocations``: ``sagemaker.model`` (a qualified name), else the only one."""
    wanted = options.get("model")
    names = [m.qualified_name for m in models]
    if wanted is None:
        if len(models) != 1:
            raise RestConfigError(
                f"{where}: {len(models)} models ({', '.join(names) or 'none'}); choose one with sagemaker.model"
            )
        return models[0]
    for built in models:
        if built.qualified_name == wanted:
            return built
    raise RestConfigError(f"{where}: sagemaker.model {wanted!r} is not one of {', '.join(names)}")

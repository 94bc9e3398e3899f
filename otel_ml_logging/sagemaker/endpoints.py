"""The SageMaker serving app: ``/ping``, ``/invocations``, wrapped in the custom-attributes middleware."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from otel_ml_logging.serving.custom_attributes import (
    CustomAttributesConfig,
    CustomAttributesMiddleware,
    set_span_attributes,
)
from otel_ml_logging.serving.rest_config import RestConfigError, build_models, choose_model, read_rest_config

_logger = logging.getLogger(__name__)

JSON = "application/json"


def create_app_from_env() -> CustomAttributesMiddleware:
    """Build the app from the file named by ``REST_CONFIG`` (default ``rest_config.yaml``)."""
    return create_app(os.environ.get("REST_CONFIG", "rest_config.yaml"))


def create_app(rest_config: str | Path) -> CustomAttributesMiddleware:
    """Build the model of ``rest_config`` with its decorators and serve it the SageMaker way."""
    document = read_rest_config(rest_config)
    if document.get("logging") is not None:
        import logging.config

        logging.config.dictConfig(document["logging"])
    try:
        attributes_config = CustomAttributesConfig.from_mapping(document.get("custom_attributes"))
    except ValueError as error:
        raise RestConfigError(f"{rest_config}: {error}") from None
    built = choose_model(build_models(document), document.get("sagemaker") or {}, str(rest_config))
    app = FastAPI(title=f"SageMaker serving: {built.qualified_name}", version=str(built.model.version))
    model = built.model

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "healthy", "model": built.qualified_name}

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        set_span_attributes()
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != JSON:
            return _problem(415, f"Content-Type must be {JSON}, got {content_type or 'none'!r}")
        body = await request.body()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return _problem(400, f"body is not valid JSON: {error}")
        try:
            data = model.input_schema.model_validate(payload)
        except ValidationError as error:
            details = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())
            return _problem(400, f"body does not match the input schema of {built.qualified_name}: {details}")
        try:
            result = await run_in_threadpool(model.predict, data)
        except Exception as error:
            _logger.exception("prediction failed")
            return _problem(500, f"prediction failed: {type(error).__name__}: {error}")
        content = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return JSONResponse(content)

    return CustomAttributesMiddleware(app, attributes_config)


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": detail}, status_code=status)

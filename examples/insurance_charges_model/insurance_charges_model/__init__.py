"""Insurance charges regression model, the example model of otel-ml-logging.

A small scikit-learn model served by rest-model-service and used to demonstrate and test
``otel_ml_logging``. Example::

    from insurance_charges_model.model import InsuranceChargesModel, InsuranceChargesModelInput

    model = InsuranceChargesModel()
    output = model.predict(
        InsuranceChargesModelInput(
            age=42, sex="female", bmi=27.5, children=2, smoker=False, region="northwest"
        )
    )
    print(output.charges)

Modules: ``data`` (synthetic data generator), ``train`` (training script), ``model`` (the ``MLModel``),
``traffic`` (HTTP traffic generator for a running service). No environment variables are read.
"""

from insurance_charges_model.version import __version__

__all__ = ["__version__"]

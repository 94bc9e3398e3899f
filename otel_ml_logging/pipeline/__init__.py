"""From ``predict()`` to the sinks: the request-thread step, the background engine, delivery accounting."""

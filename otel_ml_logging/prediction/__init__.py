"""One prediction: its identity and facts, and the telemetry decided from them (plain values, no SDK)."""

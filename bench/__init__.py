"""Side-by-side benchmarks of prediction logging approaches (see bench/README.md)."""

"""Local stand-ins for external services, speaking their real protocols, for tests and benchmarks."""

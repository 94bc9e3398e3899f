"""Process wiring: resolved settings, SDK providers, the distro and configurator entry points."""
